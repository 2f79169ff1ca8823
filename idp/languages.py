"""The page language: Persian first, English second, chosen once for the whole session.

Everything a translated page needs is loaded once per language and process, not per request:
Flask-Babel's catalogue (its domain keeps it), the ``babel.Locale`` objects, and WTForms' own
messages, which Flask-WTF would otherwise read from disk for every request that builds a form.
"""

from functools import cache, cached_property

from babel import Locale, support
from flask import Flask, session
from flask_babel import Babel, get_locale
from wtforms.i18n import messages_path

LOCALES = ("fa", "en")
_LOCALE_OBJECTS = {tag: Locale.parse(tag) for tag in LOCALES}

babel = Babel()


def select_locale() -> str:
    """The language chosen with ui_locales or the language menu holds for the whole session."""
    locale = session.get("locale")
    return locale if locale in LOCALES else "fa"


def _babel_locale() -> Locale:
    # Flask-Babel parses a returned string on every request; a Locale is taken as it is.
    return _LOCALE_OBJECTS[select_locale()]


@cache
def wtforms_translations(locale: str) -> support.NullTranslations:
    """WTForms' messages in ``locale``, exactly what Flask-WTF loads (domain "wtforms")."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_babel_locale)

    class Request(app.request_class):
        @cached_property
        def wtforms_translations(self) -> support.NullTranslations:
            # Flask-WTF reads ``request.wtforms_translations`` before loading the file itself.
            return wtforms_translations(str(get_locale()))

    app.request_class = Request

    @app.context_processor
    def _globals() -> dict:
        return {"current_locale": select_locale()}

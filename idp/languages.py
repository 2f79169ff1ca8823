"""The page language: Persian first, English second, chosen once for the whole session.

Everything a translated page needs is loaded once per language and process, not per request:
Flask-Babel's catalogue (its domain keeps it), the ``babel.Locale`` objects, and WTForms' own
messages, which Flask-WTF would otherwise read from disk for every request that builds a form.
Templates look the catalogue up once per request and language, not once per string.
"""

from functools import cache, cached_property

from babel import Locale, support
from flask import Flask, g, session
from flask_babel import Babel, get_locale, get_translations
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


def page_translations() -> support.NullTranslations:
    """``flask_babel.get_translations()``, remembered for the request's current locale.

    Flask-Babel resolves its context, domain and locale again for every string a template
    translates; the answer only changes with the locale (``force_locale`` or ``refresh``).
    """
    try:
        context = g._flask_babel
        locale = context.babel_locale
    except (AttributeError, RuntimeError):
        return get_translations()
    kept = getattr(context, "idp_translations", None)
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    context.idp_translations = (locale, translations)
    return translations


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_babel_locale)
    # The same callables Flask-Babel installs, over the remembered catalogue.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
    )

    class Request(app.request_class):
        @cached_property
        def wtforms_translations(self) -> support.NullTranslations:
            # Flask-WTF reads ``request.wtforms_translations`` before loading the file itself.
            return wtforms_translations(str(get_locale()))

    app.request_class = Request

    @app.context_processor
    def _globals() -> dict:
        return {"current_locale": select_locale()}

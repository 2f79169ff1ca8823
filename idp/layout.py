"""The fixed parts of every page's layout, rendered once instead of on every request.

Most of ``base.html`` — the assets in its head, the brand and menu, the accessibility tools, the
footer — is the same bytes on every page of a language: 17 translated strings and 9 built URLs
that took about 0.2 ms of CPU to render again for every page (issue 5, docs/performance.md).
Each part is a template under ``templates/layout/``, rendered the first time it is asked for
and kept for its language, the mount point its URLs start with and the endpoint (the menu marks
the current page); what changes with the request (the title, the language menu's links back to
this page) stays in ``base.html``. Templates that reload while the app runs are never kept.
"""

from flask import Flask, render_template, request
from flask_babel import get_locale
from markupsafe import Markup


def init_app(app: Flask) -> None:
    kept: dict[tuple, Markup] = {}

    def layout_part(name: str) -> Markup:
        """``templates/layout/<name>.html`` as this request's language and place render it."""
        key = (name, str(get_locale()), request.script_root, request.endpoint)
        part = kept.get(key)
        if part is None:
            part = Markup(render_template(f"layout/{name}.html"))
            if not app.jinja_env.auto_reload:
                kept[key] = part
        return part

    app.jinja_env.globals["layout_part"] = layout_part

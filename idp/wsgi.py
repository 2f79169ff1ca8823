"""The WSGI entry point: ``gunicorn idp.wsgi:app`` (settings from $IDP_CONFIG and IDP_*)."""

from idp import create_app

app = create_app()

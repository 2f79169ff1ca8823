"""The WSGI entry point: ``gunicorn idp.wsgi:app`` (settings from $IDP_CONFIG and IDP_*).

A configuration that cannot work stops the server with one line, not a traceback per worker.
"""

from idp import create_app
from idp.settings import ConfigurationError
from idp.startup import refuse

try:
    app = create_app()
except ConfigurationError as error:
    refuse(error)

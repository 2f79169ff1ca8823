"""The production server: granian's WSGI server with settings chosen by measurement.

``idp serve --workers N`` runs it; ``docs`` and ``benchmarks/`` hold the comparison with
gunicorn (sync and gthread). Each worker process builds its own app from the same settings.
"""

from functools import partial

from granian import Granian
from granian.constants import HTTPModes, Interfaces

from idp import create_app
from idp.settings import Settings

# One Python thread per worker serving requests: more threads only contend for the GIL (the
# work is CPU-bound; database and store round trips are short). Scale with workers instead.
SERVER_SETTINGS = {
    "interface": Interfaces.WSGI,
    "blocking_threads": 1,
    "backlog": 2048,
    "http": HTTPModes.http1,
    "websockets": False,
    "log_access": False,
    "respawn_failed_workers": True,
}


def _load_app(settings: Settings, _target: str):
    return create_app(settings)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve the provider on ``host:port`` with ``workers`` processes until stopped."""
    server = Granian("idp.wsgi:app", address=host, port=port, workers=workers,
                     **SERVER_SETTINGS)
    server.serve(target_loader=partial(_load_app, settings))

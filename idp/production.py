"""The production server: granian's WSGI server with settings chosen by measurement.

``idp serve --workers N`` runs it; ``docs`` and ``benchmarks/`` hold the comparison with
gunicorn (sync and gthread). Each worker process builds its own app from the same settings.
"""

import gc
import os
from functools import partial
from pathlib import Path

from granian import Granian
from granian.constants import HTTPModes, Interfaces

from idp import create_app, malloc
from idp.devices.qrlogin import EVENTS_CONFIG
from idp.metrics import MULTIPROC_ENV
from idp.settings import Settings

# Python threads per worker serving requests. On the embedded default (SQLite file, in-process
# store) a request never waits on the network, and a second thread only contends for the GIL:
# one thread served the most logins. On PostgreSQL + Redis a request waits on a dozen round
# trips, and four threads let one request compute while others wait (measured on one core:
# new-citizen logins 30.6/s with 1 thread, 31.1 with 2, 33.8 with 4; returning 56.8, 60.7, 71.2).
EMBEDDED_THREADS = 1
NETWORKED_THREADS = 4
# glibc malloc arenas a worker's threads share (idp/malloc.py; docs/performance.md, "Memory").
MALLOC_ARENAS = 1

SERVER_SETTINGS = {
    "interface": Interfaces.WSGI,
    "backlog": 2048,
    "http": HTTPModes.http1,
    "websockets": False,
    "log_access": False,
    "respawn_failed_workers": True,
    # Graceful stop (SIGTERM, SIGINT): workers finish the requests in flight, for at most this.
    "workers_kill_timeout": 30,
}


def _load_app(settings: Settings, _target: str):
    app = create_app(settings)
    # An event stream would hold one of the few threads until it ends: the QR page's streams
    # are served by ``idp events`` (gevent) and, where they are not routed there, the page
    # polls instead (README: QR login in production).
    app.config[EVENTS_CONFIG] = False
    return app


def blocking_threads(settings: Settings) -> int:
    """Threads per worker: more only where requests wait on PostgreSQL or Redis."""
    embedded = settings.database_url.startswith("sqlite") and not settings.redis.url
    return EMBEDDED_THREADS if embedded else NETWORKED_THREADS


def metrics_folder(settings: Settings) -> Path:
    """Where the workers write their metrics (``$PROMETHEUS_MULTIPROC_DIR``, else the
    instance folder's ``metrics``), emptied before they start: values of a previous run
    would be added to this one's."""
    folder = Path(os.environ.get(MULTIPROC_ENV) or settings.instance_dir / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)  # inherited by every worker
    return folder


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve the provider on ``host:port`` with ``workers`` processes until stopped."""
    metrics_folder(settings)
    # The workers fork from this process and share what it holds (modules, the sandbox file it
    # checked) page by page until written. A garbage collection in a worker reads and writes
    # every tracked object it walks, copying their pages into each worker: frozen, the objects
    # alive now are left alone (Python's gc.freeze documentation; issue 9: memory).
    gc.collect()
    gc.freeze()
    malloc.limit_arenas(MALLOC_ARENAS)
    server = Granian("idp.wsgi:app", address=host, port=port, workers=workers,
                     blocking_threads=blocking_threads(settings), **SERVER_SETTINGS)
    server.serve(target_loader=partial(_load_app, settings))

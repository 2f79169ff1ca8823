"""The QR page's event streams, served by gevent: ``idp events`` (README: QR login in production).

An open Server-Sent Events stream holds its server thread until it ends. Granian's WSGI workers
have a few threads each (:mod:`idp.production`), so a few waiting QR pages would starve every
other page: there, ``/login/qr/events`` answers 503 at once and the page polls instead. This
server runs the same app with gevent, where a stream is a greenlet and thousands can wait on
Redis pub/sub together; the load balancer sends ``/login/qr/events`` here and everything else
to granian.

gevent must patch the standard library before anything imports it, and importing this module
imports the ``idp`` package first; so ``idp events`` starts a fresh interpreter that patches,
then calls :func:`main` (:data:`BOOTSTRAP`).
"""

import argparse

from gevent import monkey
from gevent.pywsgi import WSGIServer

from idp import create_app

BOOTSTRAP = ("from gevent import monkey; monkey.patch_all(); "
             "import idp.events_server as server; server.main()")


def main(argv: list[str] | None = None) -> None:
    if not monkey.is_module_patched("socket"):
        raise SystemExit("start the event-stream server with `idp events`")
    parser = argparse.ArgumentParser(prog="idp events",
                                     description="Serve the QR login's event streams (gevent).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5002)
    args = parser.parse_args(argv)
    app = create_app()
    print(f"qr event streams: http://{args.host}:{args.port}/login/qr/events", flush=True)
    WSGIServer((args.host, args.port), app, log=None).serve_forever()

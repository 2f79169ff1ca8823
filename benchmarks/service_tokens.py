"""What one service token (client_credentials) costs in one process: round trips and CPU.

Prints numbers; asserts nothing. Run (PostgreSQL + Redis, or without the URLs the embedded
default)::

    .venv/bin/python benchmarks/service_tokens.py [--database-url URL --redis-url URL] \
        [--count] [--tokens 4000] [--rate-limits] [--profile N]

The request is ``compare.py``'s: a service client (client_secret_basic, one resource) posts
``grant_type=client_credentials&resource=…`` to ``/token``, called through the WSGI app with a
prepared environ (no HTTP server, no client library in the timing). The secret is checked and
the token audited as always; rate limits are off unless ``--rate-limits`` (as in compare.py).

``--count`` prints, per token after a warm-up, each command sent to PostgreSQL (every libpq
call, so the pool's ping, ``BEGIN`` and ``COMMIT`` too: it runs psycopg's pure-Python libpq
binding, ``PSYCOPG_IMPL=python``, to see them) and to Redis. Without it: CPU per token
(``time.process_time`` over blocks of 200 tokens; the fastest and the median block, since
other work on the machine only adds), and with ``--profile N`` cProfile's top N functions.
"""

import os
import sys

if "--count" in sys.argv:
    os.environ["PSYCOPG_IMPL"] = "python"  # before psycopg is imported

import argparse
import base64
import cProfile
import io
import logging
import pstats
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from token_endpoint import provider_settings
from werkzeug.test import EnvironBuilder

from idp import create_app

SERVICE = {"client_id": "bench-service", "client_secret": "bench-service-secret",
           "name": "سرور سنجش", "grant_types": ["client_credentials"],
           "resources": ["https://api.bench.example/"]}
BODY = b"grant_type=client_credentials&resource=https%3A%2F%2Fapi.bench.example%2F"
BLOCK = 200


def token_call(app):
    """A function posting the service's token request to ``app``; it checks the answer."""
    secret = base64.b64encode(b"bench-service:bench-service-secret").decode()
    environ = EnvironBuilder(path="/token", method="POST", base_url="http://localhost",
                             headers={"Authorization": f"Basic {secret}",
                                      "Content-Type": "application/x-www-form-urlencoded",
                                      "User-Agent": "wrk"},
                             data=BODY).get_environ()
    statuses: list[str] = []

    def start_response(status, _headers, _exc_info=None) -> None:
        statuses.append(status)

    def call() -> None:
        answer = b"".join(app({**environ, "wsgi.input": io.BytesIO(BODY)}, start_response))
        if not statuses.pop().startswith("200"):
            sys.exit(f"token request failed: {answer[:300]!r}")
    return call


def count_commands() -> Counter:
    """Count what goes to PostgreSQL (libpq calls) and Redis (commands) from now on."""
    import redis.connection

    sent: Counter = Counter()
    try:
        from psycopg.pq import pq_ctypes
    except ImportError:
        pq_ctypes = None
    if pq_ctypes is not None:
        for name in ("exec_", "exec_params", "exec_prepared", "send_query",
                     "send_query_params", "send_prepare", "send_query_prepared"):
            original = getattr(pq_ctypes.PGconn, name)

            def counted(self, *args, _original=original, _name=name, **kwargs):
                command = args[0] if args else b""
                label = command.decode(errors="replace").split()[0] if isinstance(
                    command, bytes) and command.strip() else f"({_name})"
                sent[f"postgresql {_name}: {label[:40]}"] += 1
                return _original(self, *args, **kwargs)
            setattr(pq_ctypes.PGconn, name, counted)
    pack = redis.connection.AbstractConnection.pack_command

    def packed(self, *args):
        sent[f"redis {args[0]}"] += 1
        return pack(self, *args)
    redis.connection.AbstractConnection.pack_command = packed
    return sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--count", action="store_true")
    parser.add_argument("--rate-limits", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        settings = provider_settings(base, args.database_url, args.redis_url)
        settings.clients = [*settings.clients, SERVICE]
        settings.ratelimit.enabled = args.rate_limits
        app = create_app(settings)
        logging.getLogger("idp").handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115
        call = token_call(app)
        for _ in range(100):  # warm: the client cached, statements prepared
            call()
        if args.count:
            sent = count_commands()
            for _ in range(BLOCK):
                call()
            print(f"per token (average of {BLOCK}):")
            for command, number in sorted(sent.items()):
                print(f"  {number / BLOCK:5.2f}  {command}")
            for system in ("postgresql", "redis"):
                if not any(command.startswith(system) for command in sent):
                    print(f"   none  {system}")
            return
        blocks = []
        for _ in range(max(1, args.tokens // BLOCK)):
            started = time.process_time()
            for _ in range(BLOCK):
                call()
            blocks.append(1000 * (time.process_time() - started) / BLOCK)
        print(f"CPU per token: fastest block {min(blocks):.3f} ms, median "
              f"{statistics.median(blocks):.3f} ms ({len(blocks)} blocks of {BLOCK})")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [call() for _ in range(1000)])
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
        app.extensions["idp"].db.engine.dispose()


if __name__ == "__main__":
    main()

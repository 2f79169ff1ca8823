"""``python -m clients.NAME``: run one relying party on its own, against a running provider.

Every option can also come from the environment (``MUNICIPAL_ISSUER`` and so on), so that the
secret need not appear in a process list.
"""

import argparse
import os
from collections.abc import Callable

from flask import Flask


def run(factory: Callable[..., Flask], name: str, description: str, default_port: int) -> None:
    prefix = name.upper() + "_"

    def env(key: str, default: str | None = None) -> str | None:
        return os.environ.get(prefix + key, default)

    parser = argparse.ArgumentParser(prog=f"python -m clients.{name}", description=description)
    parser.add_argument("--issuer", default=env("ISSUER", "http://127.0.0.1:5000"))
    parser.add_argument("--client-id", default=env("CLIENT_ID", name))
    parser.add_argument("--client-secret", default=env("CLIENT_SECRET"))
    parser.add_argument("--host", default=env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("PORT", str(default_port))))
    parser.add_argument("--base-url", default=env("BASE_URL"))
    parser.add_argument("--database-url", default=env("DATABASE_URL"),
                        help="SQLAlchemy URL (default: a SQLite file in the instance folder)")
    args = parser.parse_args()
    if not args.client_secret:
        parser.error(f"--client-secret (or {prefix}CLIENT_SECRET) is required")
    base_url = args.base_url or f"http://{args.host}:{args.port}"
    app = factory(args.issuer, args.client_id, args.client_secret, base_url, args.database_url)
    app.run(host=args.host, port=args.port)

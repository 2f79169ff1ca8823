"""``python -m clients.NAME``: run one relying party on its own, against a running provider.

Every option can also come from the environment (``MUNICIPAL_ISSUER`` and so on), so that the
secret need not appear in a process list.
"""

import argparse
import os
from collections.abc import Callable

from flask import Flask


def run(factory: Callable[..., Flask], name: str, description: str, default_port: int) -> None:
    parser = make_parser(name, description, default_port)
    args = parser.parse_args()
    base_url = checked_base_url(parser, args, name)
    app = factory(args.issuer, args.client_id, args.client_secret, base_url, args.database_url)
    app.run(host=args.host, port=args.port)


def make_parser(name: str, description: str, default_port: int) -> argparse.ArgumentParser:
    """The options every relying party takes; an app may add its own before parsing."""
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
    return parser


def checked_base_url(parser: argparse.ArgumentParser, args: argparse.Namespace,
                     name: str) -> str:
    """The app's public URL, after refusing a run without its client secret."""
    if not args.client_secret:
        parser.error(f"--client-secret (or {name.upper()}_CLIENT_SECRET) is required")
    return args.base_url or f"http://{args.host}:{args.port}"

"""Run the municipal demo app: ``python -m clients.municipal --client-secret ...``.

Every option can also come from the environment (``MUNICIPAL_ISSUER`` and so on), so that the
secret need not appear in a process list.
"""

import argparse
import os

from clients.municipal.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="سامانه حساب شهروندی شهرداری (demo RP)")
    parser.add_argument("--issuer", default=os.environ.get("MUNICIPAL_ISSUER",
                                                           "http://127.0.0.1:5000"))
    parser.add_argument("--client-id", default=os.environ.get("MUNICIPAL_CLIENT_ID",
                                                              "municipal"))
    parser.add_argument("--client-secret", default=os.environ.get("MUNICIPAL_CLIENT_SECRET"))
    parser.add_argument("--host", default=os.environ.get("MUNICIPAL_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MUNICIPAL_PORT",
                                                                       "5001")))
    parser.add_argument("--base-url", default=os.environ.get("MUNICIPAL_BASE_URL"))
    parser.add_argument("--database-url", default=os.environ.get("MUNICIPAL_DATABASE_URL"),
                        help="SQLAlchemy URL (default: a SQLite file in the instance folder)")
    args = parser.parse_args()
    if not args.client_secret:
        parser.error("--client-secret (or MUNICIPAL_CLIENT_SECRET) is required")
    base_url = args.base_url or f"http://{args.host}:{args.port}"
    app = create_app(args.issuer, args.client_id, args.client_secret, base_url,
                     database_url=args.database_url)
    app.run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()

"""Run the municipal app: ``python -m clients.municipal --config FILE --client-secret ...``
(the shared options in clients/common/cli.py, each also from ``MUNICIPAL_*`` in the environment;
the app's own settings from FILE or ``MUNICIPAL_CONFIG``, see config.example.toml)."""

import os
import sys

from clients.common.cli import checked_base_url, make_parser
from clients.municipal.app import create_app
from clients.municipal.registry import RegistryError
from clients.municipal.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = make_parser("municipal", "سامانه حساب شهروندی شهرداری تهران", 5001)
    parser.add_argument("--config", default=os.environ.get("MUNICIPAL_CONFIG"),
                        help="the app's TOML settings (see clients/municipal/config.example.toml)")
    args = parser.parse_args(argv)
    base_url = checked_base_url(parser, args, "municipal")
    try:
        settings = load_settings(args.config)
        app = create_app(args.issuer, args.client_id, args.client_secret, base_url,
                         args.database_url, settings=settings)
    except (SettingsError, RegistryError) as error:
        # One clear line, no traceback: the operator fixes the file and starts again.
        print(f"municipal: {error}", file=sys.stderr)
        sys.exit(2)
    app.run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()

"""``python -m clients.paygate --config FILE --port P``: the sandbox gateway alone. The port
must be the one of ``[payment] gateway_url``, where the merchant sends its citizens."""

import argparse
import os
import sys

from clients.paygate.app import create_app
from clients.paygate.settings import GatewaySettingsError, load_gateway_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m clients.paygate",
                                     description="درگاه پرداخت آزمایشی (sandbox payment gateway)")
    parser.add_argument("--config", default=os.environ.get("MUNICIPAL_CONFIG"),
                        help="the municipal settings file; its [payment] section is read")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_gateway_settings(args.config)
        if settings.port != args.port:
            raise GatewaySettingsError(f"--port {args.port} is not the port of payment."
                                       f"gateway_url {settings.gateway_url}")
    except GatewaySettingsError as error:
        print(f"paygate: {error}", file=sys.stderr)  # one clear line, no traceback
        sys.exit(2)
    create_app(settings).run(host=args.host, port=args.port)


if __name__ == "__main__":
    main()

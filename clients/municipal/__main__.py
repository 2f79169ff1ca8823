"""Run the municipal demo app: ``python -m clients.municipal --client-secret ...``
(options in clients/common/cli.py; each also from ``MUNICIPAL_*`` in the environment)."""

from clients.common.cli import run
from clients.municipal.app import create_app

if __name__ == "__main__":
    run(create_app, "municipal", "سامانه حساب شهروندی شهرداری (demo RP)", 5001)

"""Run the insurance demo app: ``python -m clients.insurance --client-secret ...``
(options in clients/common/cli.py; each also from ``INSURANCE_*`` in the environment)."""

from clients.common.cli import run
from clients.insurance.app import create_app

if __name__ == "__main__":
    run(create_app, "insurance", "سامانه خدمات غیرحضوری تأمین اجتماعی (demo RP)", 5002)

"""Run the employer portal: ``python -m clients.employer --client-secret ...``
(options in clients/common/cli.py; each also from ``EMPLOYER_*`` in the environment). Register
it at the provider as a legal-entity client: ``idp clients add … --legal-entity``."""

from clients.common.cli import run
from clients.employer.app import create_app

if __name__ == "__main__":
    run(create_app, "employer", "سامانه کارفرمایان سازمان تأمین اجتماعی (demo RP)", 5003)

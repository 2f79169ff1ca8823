"""Starting the provider: what a start needs is checked first, and a configuration that cannot
work is told in one line (a :class:`~idp.settings.ConfigurationError`), not dumped as a traceback
(issue 9). The command line and the WSGI entry point both end that way."""

import sys

from idp.messaging import build_mailer, build_sms_sender
from idp.migrations import upgrade
from idp.registration import check_config_clients
from idp.registries import build_registries
from idp.settings import ConfigurationError, Settings

# gunicorn's "App failed to load": the arbiter stops instead of booting workers forever.
EXIT_CONFIGURATION = 4


def check(settings: Settings) -> None:
    """What the app factory would refuse, checked without starting it (before a migration, or
    before the production server forks its workers): the database answers and is migrated, the
    sandbox file and the gateways' settings are usable, the ``[[clients]]`` tables register."""
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    build_registries(settings.registries, settings.base_dir)
    build_sms_sender(settings.sms, settings.base_dir)
    build_mailer(settings.email, settings.base_dir)
    check_config_clients(settings.clients)


def refuse(error: ConfigurationError) -> None:
    """End a start that cannot go on: one line on stderr, a non-zero exit."""
    print(f"idp: cannot start: {error}", file=sys.stderr)
    raise SystemExit(EXIT_CONFIGURATION)

"""``python -m clients.phone``: the same program as the ``idp-phone`` command."""

from clients.phone.cli import main

main()

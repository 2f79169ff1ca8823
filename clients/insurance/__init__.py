"""«خدمات غیرحضوری سازمان تأمین اجتماعی»: the demo insurance relying party (seed 001)."""

from clients.insurance.app import create_app

__all__ = ["create_app"]

"""«سامانه کارفرمایان سازمان تأمین اجتماعی»: the employer portal, a legal-entity relying party
(seed 001: an employer's services, such as sending the monthly insurance list, come after the
company is registered; issue 8)."""

from clients.employer.app import create_app

__all__ = ["create_app"]

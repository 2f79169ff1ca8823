"""The account page's tabs every citizen has: profile (with mobile and e-mail), services,
sessions and history. Importing the package registers them on ``idp.account_page``."""

from idp.account_tabs import email, history, profile, services, sessions

__all__ = ["email", "history", "profile", "services", "sessions"]

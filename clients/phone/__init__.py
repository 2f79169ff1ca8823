"""``idp-phone``: the official phone app of the national single sign-on, played on the command line.

It pairs with the provider as a native public client (RFC 8252, PKCE S256) that registers an
ES256 device key, then approves or denies QR-code logins by signing them with that key. It talks
only to the provider's published HTTP interface (discovery, the login pages, the token endpoint
and the phone app's JSON API of the QR-login issue) and never imports ``idp`` or ``flows``, so
it proves that interface is enough for any app or test tool.
"""

from clients.phone.app import Phone, PhoneError

__all__ = ["Phone", "PhoneError"]

"""The sandbox gateway's contract with a merchant (issue 10), in one place for both sides.

The browser comes back to the merchant's ``POST /payment/callback`` with ``order_id``,
``ref_id``, ``amount``, ``status`` (``paid`` | ``cancelled``) and ``sig``, the hex HMAC-SHA256 of
``order_id|ref_id|amount|status`` with the shared ``secret``. Server to server, the merchant
registers an order (``POST /api/orders``) and verifies a payment (``POST /api/verify``), each
signed the same way over its own fields.
"""

import hashlib
import hmac

PAID = "paid"
CANCELLED = "cancelled"
STATUSES = (PAID, CANCELLED)
ORDERS_PATH = "/api/orders"
VERIFY_PATH = "/api/verify"


def signature(secret: str, *fields: object) -> str:
    """Hex HMAC-SHA256 of the fields joined by ``|`` (issue 10)."""
    message = "|".join(str(field) for field in fields).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed(secret: str, given: str, *fields: object) -> bool:
    """Is ``given`` the signature of ``fields``? (compared in constant time)"""
    return hmac.compare_digest(signature(secret, *fields).encode(),
                               (given or "").lower().encode())


def callback_signature(secret: str, order_id: str, ref_id: str, amount: int | str,
                       status: str) -> str:
    return signature(secret, order_id, ref_id, amount, status)


def order_signature(secret: str, merchant_id: str, order_id: str, amount: int | str,
                    callback_url: str) -> str:
    return signature(secret, merchant_id, order_id, amount, callback_url)


def verify_signature(secret: str, merchant_id: str, order_id: str, ref_id: str,
                     amount: int | str) -> str:
    return signature(secret, merchant_id, order_id, ref_id, amount)

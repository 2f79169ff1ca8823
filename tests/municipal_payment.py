"""The municipal app with its payment gateway (issue 10), shared by the integration and browser
tests of «عوارض نوسازی» and «صدور گواهی»: the gateway on its own port with a secret shared
through the app's ``MUNICIPAL_PAYMENT_*`` settings, and registered requests put in a state as
the transfer wizard and the staff desk would leave them."""

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from live import free_port, serve
from relying_parties import running_services
from sqlalchemy import select
from sqlalchemy.orm import Session

from clients.municipal import lifecycle
from clients.municipal.models import Citizen, ServiceRequest
from clients.paygate import create_app as create_gateway
from clients.paygate.settings import load_gateway_settings

HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
# Registry codes (clients/municipal/sandbox_registry.toml): dues owed, and none.
IN_DEBT = {"renovation_code": "10-123-456-7", "request_number": "1401-55871", "dues": 18500000,
           "address": "تهران، منطقه ۶، خیابان فاطمی، کوچه بهار، پلاک ۱۲، واحد ۳"}
NO_DEBT = {"renovation_code": "10-123-456-8", "request_number": "1402-10044", "dues": 0,
           "address": "تهران، منطقه ۳، خیابان ولیعصر، بن‌بست نیلوفر، پلاک ۴، واحد ۷"}


@contextmanager
def with_gateway(tmp_path, monkeypatch, database_url: str | None = None,
                 apps_database: str | None = None) -> Iterator:
    """The provider (on ``database_url`` if given), the municipal app (on ``apps_database`` if
    given) and the gateway; ``sites.gateway`` is the gateway's URL and ``sites.payment_secret``
    the shared secret."""
    port = free_port()
    secret = secrets.token_hex(16)
    monkeypatch.setenv("MUNICIPAL_PAYMENT_GATEWAY_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MUNICIPAL_PAYMENT_SECRET", secret)
    monkeypatch.setenv("MUNICIPAL_MUNICIPAL_SMS_OUTBOX_PATH", str(tmp_path / "m-outbox.jsonl"))
    gateway = create_gateway(load_gateway_settings(None))
    with running_services(tmp_path, database_url=database_url, names=("municipal",),
                          apps_database=apps_database) as sites, \
            serve(gateway, port) as url:
        sites.gateway = url
        sites.payment_secret = secret
        sites.gateway_app = gateway
        yield sites


def registered(sites, national_code: str, apartment: dict, state: str,
               role: str = "owner", mobile: str = "09120000001") -> str:
    """A transfer request of the citizen (logged in before), as «تایید و ثبت» registers it,
    then taken to ``state`` the one way states change; its tracking number."""
    app = sites.apps["municipal"]
    number = str(secrets.randbelow(9 * 10**9) + 10**9)
    with app.app_context(), Session(app.extensions["rp"].db.engine) as db:
        citizen = db.scalar(select(Citizen).where(Citizen.national_code == national_code))
        code = re.sub(r"[^0-9]", "", apartment["renovation_code"])
        item = ServiceRequest(
            tracking_number=number, citizen_id=citizen.id, kind="transfer",
            renovation_code=code, state=lifecycle.AWAITING_VISIT, open_code=code,
            data={"renovation_code": apartment["renovation_code"],
                  "request_number": apartment["request_number"], "role": role,
                  "address": apartment["address"], "applicant": national_code,
                  "letter": {"role": role, "letter_number": "12/345",
                             "letter_date": "1404/02/15", "body": "دفترخانه ۱۲ تهران"},
                  "documents": [], "slot": "2030-01-05T10:00", "mobile": mobile})
        db.add(item)
        db.commit()
        if state != lifecycle.AWAITING_VISIT:
            target = lifecycle.AWAITING_PAYMENT if apartment["dues"] else lifecycle.READY
            assert lifecycle.advance(db, item, "approve_visit", target, by="0000000000")
    return number


def request_state(sites, number: str) -> str:
    with Session(sites.apps["municipal"].extensions["rp"].db.engine) as db:
        return db.scalar(select(ServiceRequest.state).where(
            ServiceRequest.tracking_number == number))


def hidden_fields(page: requests.Response) -> dict[str, str]:
    """The fields of the gateway's form back to the merchant."""
    return {name: value for name, value in HIDDEN.findall(page.text) if name != "csrf_token"}

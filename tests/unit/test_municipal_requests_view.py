"""The small pure parts of the staff desk, «درخواست های پیشین» and the request's history
(issue 10)."""

from datetime import datetime

from clients.municipal import citizens, history, lifecycle
from clients.municipal.models import ServiceRequest
from clients.municipal.previous import tracking_query
from clients.municipal.transfer import may_withdraw


def test_a_tracking_number_is_typed_in_any_digits():
    assert tracking_query("۱۲۳۴ ۵۶۷۸۹۰") == "1234567890"
    assert tracking_query("٤٥-٦") == "456"
    assert tracking_query("12a4") is None
    assert tracking_query("12345678901") is None  # longer than any tracking number
    assert tracking_query("") is None


def test_the_menu_shows_what_the_app_has_and_the_desk_to_staff_only():
    endpoints = {"municipal.profile", "transfer.requests", "previous.index", "staff.index"}
    shown = {s["id"] for s in citizens.visible(citizens.SERVICES, endpoints, staff=False)}
    assert shown == {"profile", "transfer", "previous"}  # no inquiry page here, no desk
    staff = {s["id"] for s in citizens.visible(citizens.SERVICES, endpoints, staff=True)}
    assert staff == shown | {"staff"}


def test_the_history_is_read_in_tehran_jalali_time():
    assert history.jalali_time("2026-11-30T05:34:25") == "1405/09/09 09:04"
    item = ServiceRequest(state=lifecycle.CANCELLED, kind="transfer", data={
        "applicant": "0499370899", "history": [
            {"action": "cancel", "from": "awaiting_visit", "to": "cancelled",
             "by": "7849881354", "at": "2026-11-30T20:40:00", "reason": "ناقص"}]})
    [entry] = history.entries(item)
    assert entry.when == "1405/09/10 00:10" and not entry.by_applicant
    assert entry.reason == "ناقص" and "قابلیت ادامه بررسی" in entry.state


def test_withdrawal_only_before_the_visit():
    now = datetime(2026, 12, 1, 10, 0)
    waiting = ServiceRequest(state=lifecycle.AWAITING_VISIT, data={"slot": "2026-12-01T11:00"})
    assert may_withdraw(waiting, now)
    assert not may_withdraw(waiting, datetime(2026, 12, 1, 11, 0))  # its hour has come
    approved = ServiceRequest(state=lifecycle.READY, data={"slot": "2026-12-01T11:00"})
    assert not may_withdraw(approved, now)


def test_previous_requests_link_only_to_pages_the_app_has():
    from datetime import datetime as moment

    from flask import Blueprint, Flask

    from clients.municipal.previous import row

    def app_with(*names: str) -> Flask:
        app = Flask(__name__)
        for name, path in (("certificates", "/certificates/<tracking_number>"),
                           ("inquiry", "/inquiry/requests/<tracking_number>")):
            if name in names:
                pages = Blueprint(name, __name__)
                pages.add_url_rule(path, "page" if name == "certificates" else "registered",
                                   lambda tracking_number: "")
                app.register_blueprint(pages)
        return app

    def item(kind: str, state: str) -> ServiceRequest:
        return ServiceRequest(kind=kind, state=state, tracking_number="1234567890",
                              renovation_code="1012345677", created_at=moment(2026, 11, 30),
                              data={})

    with app_with("certificates", "inquiry").test_request_context():
        issued = row(item("inquiry", lifecycle.ISSUED))
        assert issued["status_url"] == "/inquiry/requests/1234567890"
        assert issued["print_url"] == "/certificates/1234567890"
        assert row(item("transfer", lifecycle.ARCHIVED))["print_url"] is not None
        assert row(item("transfer", lifecycle.READY))["print_url"] is None  # none yet
        assert row(item("transfer", lifecycle.READY))["code"] == "1012345677"
    with app_with().test_request_context():
        alone = row(item("inquiry", lifecycle.ISSUED))
        assert alone["status_url"] is None and alone["print_url"] is None

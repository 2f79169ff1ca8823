"""Development pages, registered only in demo mode: the SMS and e-mail outboxes, so a person
can log in and verify an e-mail."""

from flask import Blueprint, render_template

from idp.messaging import read_outbox
from idp.services import services

bp = Blueprint("dev", __name__, url_prefix="/dev")


@bp.route("/outbox")
def outbox():
    settings = services().settings
    messages = read_outbox(settings.path(settings.sms.outbox_path), limit=50)
    mails = read_outbox(settings.path(settings.email.outbox_path), limit=20) \
        if settings.email.backend == "outbox" else []
    return render_template("dev/outbox.html", messages=messages, mails=mails)

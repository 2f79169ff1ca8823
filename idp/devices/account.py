"""The account page's «دستگاه‌ها» tab: the citizen's paired devices, each revocable."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import jdatetime
from flask import redirect, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user

from idp.account_page import render_tab, tab
from idp.devices import bp
from idp.devices.api import active_devices, revoke_device
from idp.devices.models import Device
from idp.forms import ConfirmForm
from idp.services import services

TEHRAN = ZoneInfo("Asia/Tehran")


def jalali(moment: datetime | None) -> str:
    """A stored UTC time as the citizen reads it: Jalali date and Tehran time."""
    if moment is None:
        return ""
    local = moment.replace(tzinfo=UTC).astimezone(TEHRAN).replace(tzinfo=None)
    return jdatetime.datetime.fromgregorian(datetime=local).strftime("%Y/%m/%d %H:%M")


@tab(bp, "/account/devices", lazy_gettext("دستگاه‌ها"), order=50)
def devices_tab():
    """Paired devices: name, platform, paired at, last used, and a revoke button each."""
    devices = [{"id": d.id, "name": d.display_name, "platform": d.platform,
                "created": jalali(d.created_at), "last_used": jalali(d.last_used_at)}
               for d in active_devices(current_user.account.id)]
    return render_tab("account/devices.html", devices=devices, form=ConfirmForm(),
                      revoked=request.args.get("revoked") == "1")


@bp.route("/account/devices/<device_id>/revoke", methods=["POST"])
def revoke(device_id: str):
    if not current_user.is_authenticated:
        return redirect(url_for("account.index"))
    db = services().db.session
    device = db.get(Device, device_id)
    if ConfirmForm().validate_on_submit() and device is not None \
            and device.account_id == current_user.account.id:
        revoke_device(device, "citizen")
        db.commit()
        return redirect(url_for("devices.devices_tab", revoked=1))
    return redirect(url_for("devices.devices_tab"))

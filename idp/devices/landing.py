"""``ISSUER/q/1/QID`` opened outside the app (a phone's camera): say how it is meant to be used.

The page never looks the code up and never reveals whether it exists (design qr-login §2.4).
"""

from flask import render_template

from idp.devices import bp


@bp.route("/q/1/<path:_qid>")
def opened_outside_the_app(_qid: str):
    return render_template("devices/scan_with_app.html")

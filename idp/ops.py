"""Operations: liveness, readiness and Prometheus metrics (SPEC §6)."""

import ipaddress

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from idp import metrics as metrics_module
from idp.messaging import breaker_states
from idp.services import services

bp = Blueprint("ops", __name__)


class Metrics(metrics_module.Metrics):
    """The provider's metrics, readable only from ``[ops] metrics_allowed``."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        # Parsed once at start: a mistyped network stops the provider, not a scrape.
        self.allowed = [ipaddress.ip_network(network, strict=False)
                        for network in app.extensions["idp"].settings.ops.metrics_allowed]

    def may_read(self, address: str | None) -> bool:
        """True when ``address`` is in one of ``[ops] metrics_allowed``."""
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.allowed)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    svc = services()
    checks = {"redis": svc.store.ping()}
    try:
        svc.db.session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        checks["database"] = False
    ready = all(checks.values())
    # Reported, not counted: a registry down is down for every instance alike, and taking them
    # all out of the load balancer would stop the logins that need no registry as well.
    # The SMS gateways likewise (issue 9): with one gateway down, codes go out through the other.
    return jsonify(status="ready" if ready else "unavailable", checks=checks,
                   registries=svc.registries.breaker_states(),
                   sms=breaker_states(svc.sms)), 200 if ready else 503


@bp.route("/metrics")
def metrics():
    # Metrics describe traffic and errors: for the operator's scrapers only (issue 6).
    collector = current_app.extensions["idp.metrics"]
    if not collector.may_read(request.remote_addr):
        return Response("forbidden\n", status=403, mimetype="text/plain")
    return Response(collector.exposition(), mimetype=CONTENT_TYPE_LATEST)

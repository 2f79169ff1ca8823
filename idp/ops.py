"""Operations: liveness, readiness and Prometheus metrics (SPEC §6)."""

import ipaddress
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text

from idp.services import services

bp = Blueprint("ops", __name__)


class Metrics:
    """One registry per app, so that several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("idp_http_requests_total", "HTTP requests",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.latency = Histogram("idp_http_request_seconds", "Request latency",
                                 ["endpoint"], registry=self.registry)

    def init_app(self, app: Flask) -> None:
        app.extensions["idp.metrics"] = self
        # Parsed once at start: a mistyped network stops the provider, not a scrape.
        self.allowed = [ipaddress.ip_network(network, strict=False)
                        for network in app.extensions["idp"].settings.ops.metrics_allowed]

        @app.before_request
        def _start() -> None:
            g.started = time.perf_counter()

        @app.after_request
        def _count(response):
            endpoint = request.endpoint or "unknown"
            self.requests.labels(endpoint, request.method, str(response.status_code)).inc()
            if "started" in g:
                self.latency.labels(endpoint).observe(time.perf_counter() - g.started)
            return response

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
    registries = svc.registries.breaker_states()
    return jsonify(status="ready" if ready else "unavailable", checks=checks,
                   registries=registries), 200 if ready else 503


@bp.route("/metrics")
def metrics():
    # Metrics describe traffic and errors: for the operator's scrapers only (issue 6).
    collector = current_app.extensions["idp.metrics"]
    if not collector.may_read(request.remote_addr):
        return Response("forbidden\n", status=403, mimetype="text/plain")
    return Response(generate_latest(collector.registry), mimetype=CONTENT_TYPE_LATEST)

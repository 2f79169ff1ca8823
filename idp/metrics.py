"""Prometheus metrics, right with several worker processes and several instances.

Each app has its own registry (several apps share a process in the tests). Under a
multi-process server (``idp serve --workers``, gunicorn) ``PROMETHEUS_MULTIPROC_DIR`` names a
folder where every worker writes its values; ``/metrics`` then adds up all the workers' files,
so any worker answers for the whole instance. Each instance is scraped on its own (Prometheus
labels it); nothing here is shared between instances.

Labels never carry a citizen's data: endpoints, methods, outcomes, gateways, registries, grants.
"""

import dataclasses
import os
import time
from contextlib import contextmanager

from flask import Flask, current_app, g, has_app_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector

from idp.authn import METHODS
from idp.registries import Registries

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Audit events that end a login attempt (OIDC logins by how the citizen proved it; a failure
# is counted at the step that refused it, before any method is known).
LOGIN_OUTCOMES = {
    "login.success": "success",
    "login.otp_failed": "otp_failed",
    "login.captcha_failed": "captcha_failed",
    "identity.not_in_registry": "not_in_registry",
    "identity.mobile_mismatch": "mobile_mismatch",
    "consent.denied": "consent_denied",
}
_METHOD_OF_AMR = {" ".join(amr): method for method, (amr, _acr) in METHODS.items()}


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The provider's metrics, on one registry per app."""

    def __init__(self) -> None:
        if multiprocess_dir():
            # Values go to the folder's files whatever imported prometheus_client first (the
            # server's parent process imports it before the variable is set).
            values.ValueClass = values.get_value_class()
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter("idp_http_requests_total", "HTTP requests",
                                ["endpoint", "method", "status"], registry=registry)
        self.latency = Histogram("idp_http_request_seconds", "Request latency",
                                 ["endpoint"], registry=registry)
        self.logins = Counter("idp_logins_total", "Login attempts ended, by method and outcome",
                              ["method", "outcome"], registry=registry)
        self.codes_sent = Counter("idp_codes_sent_total", "One-time codes handed to a gateway",
                                  ["gateway", "channel"], registry=registry)
        self.codes_failed = Counter("idp_codes_failed_total",
                                    "One-time codes a gateway did not take",
                                    ["gateway", "channel"], registry=registry)
        self.registry_latency = Histogram("idp_registry_seconds",
                                          "Outside registry calls, by registry and outcome",
                                          ["registry", "outcome"], registry=registry)
        self.registry_errors = Counter("idp_registry_errors_total",
                                       "Outside registry calls that failed",
                                       ["registry"], registry=registry)
        self.tokens = Counter("idp_tokens_issued_total", "Tokens issued at /token, by grant",
                              ["grant_type"], registry=registry)
        self.rate_limited = Counter("idp_rate_limit_hits_total",
                                    "Requests refused by a rate limit or a spent budget",
                                    ["limit"], registry=registry)

    def init_app(self, app: Flask) -> None:
        app.extensions["idp.metrics"] = self

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

    def exposition(self) -> bytes:
        """The text format of this app's metrics, or of every worker's under multi-process."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)

    def audited(self, event: str, detail: dict) -> None:
        """Count what an audit event says: a login's end, a token issued."""
        outcome = LOGIN_OUTCOMES.get(event)
        if outcome is not None:
            method = _METHOD_OF_AMR.get(str(detail.get("amr", "")), "unknown") \
                if outcome == "success" else "unknown"
            self.logins.labels(method, outcome).inc()
        elif event == "token.issued":
            self.tokens.labels(str(detail.get("grant_type") or "unknown")).inc()


def metrics() -> Metrics | None:
    """The current app's metrics (None outside an app, e.g. the command line)."""
    return current_app.extensions.get("idp.metrics") if has_app_context() else None


@contextmanager
def timed_registry(name: str):
    """Time one registry call; a raised error counts as that registry's error."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        collector = metrics()
        if collector is not None:
            collector.registry_latency.labels(name, outcome).observe(
                time.perf_counter() - started)
            if outcome == "error":
                collector.registry_errors.labels(name).inc()


class CountedSender:
    """An SMS sender or mailer whose sends are counted per gateway (never the recipient)."""

    def __init__(self, inner, gateway: str, channel: str) -> None:
        self.inner = inner
        self.gateway = gateway
        self.channel = channel

    def send(self, *args, **kwargs) -> None:
        try:
            self.inner.send(*args, **kwargs)
        except Exception:
            self._count("codes_failed")
            raise
        self._count("codes_sent")

    def _count(self, name: str) -> None:
        collector = metrics()
        if collector is not None:
            getattr(collector, name).labels(self.gateway, self.channel).inc()

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def timed_registries(registries: Registries) -> Registries:
    """The four registries, each call timed under the registry's name."""
    return Registries(**{field.name: TimedRegistry(getattr(registries, field.name), field.name)
                         for field in dataclasses.fields(registries)})


class TimedRegistry:
    """One outside registry whose every call is timed under ``name``."""

    def __init__(self, inner, name: str) -> None:
        self.inner = inner
        self.name = name

    def __getattr__(self, attribute: str):
        found = getattr(self.inner, attribute)
        if not callable(found):
            return found

        def call(*args, **kwargs):
            with timed_registry(self.name):
                return found(*args, **kwargs)

        return call


def count_rate_limited(limit: str) -> None:
    collector = metrics()
    if collector is not None:
        collector.rate_limited.labels(limit).inc()


def rate_limit_breached(_limit) -> None:
    """Flask-Limiter's on_breach: a decorated view refused (labelled by its endpoint)."""
    count_rate_limited(request.endpoint or "unknown")

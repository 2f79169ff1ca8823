"""A request id on every request: the caller's ``X-Request-ID`` when it is a sane token, else a
new one; echoed in the answer and written on every log line of the request, so one login can be
followed across the reverse proxy, the instances and the logs.

It is WSGI middleware, outside everything else, so the answers kept in front of Flask
(discovery and JWKS, idp.oidc.published) carry it too.
"""

import logging
import re
import uuid

from flask import has_request_context, request

HEADER = "X-Request-ID"
ENVIRON_KEY = "idp.request_id"
# What a proxy or a client may hand us: short, printable, no spaces (it ends up in logs).
_ACCEPTED = re.compile(r"[A-Za-z0-9._:+=/-]{1,128}")


def request_id_of(environ: dict) -> str:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if _ACCEPTED.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Sets ``environ["idp.request_id"]`` and answers it in ``X-Request-ID``."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response):
        request_id = environ[ENVIRON_KEY] = request_id_of(environ)

        def with_id(status, headers, exc_info=None):
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        return self.app(environ, with_id)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to the log records made while serving a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = request.environ.get(ENVIRON_KEY)
        return True

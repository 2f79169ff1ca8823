"""Discovery and JWKS answered in front of Flask: Flask's own bytes and headers, kept.

The first GET of a document (and the first after the signing keys change) goes through Flask
like any request, and what Flask answered - status, headers, body - is kept. Later GETs of that
document are answered from it and counted in the same metrics, without building a request
context, a session or a response object. Everything else goes to Flask: other paths and
methods, and requests that carry cookies (their session could change the answer's headers).
"""

import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


class PublishedDocuments:
    """WSGI middleware serving ``{path: (endpoint, version)}`` from Flask's kept answers."""

    def __init__(self, app: Flask, wsgi_app, documents: dict[str, tuple[str, Callable]]):
        self.app = app
        self.wsgi_app = wsgi_app
        self.documents = documents
        # (path, scheme) -> (version, status, headers, body, request counter, latency histogram)
        self.kept: dict[tuple[str, str], tuple] = {}

    @classmethod
    def install(cls, app: Flask, documents: dict[str, tuple[str, Callable]]) -> None:
        # Inside ProxyFix, so that the scheme (and HSTS with it) is the one it worked out.
        outer = app.wsgi_app
        if isinstance(outer, ProxyFix):
            outer.app = cls(app, outer.app, documents)
        else:
            app.wsgi_app = cls(app, outer, documents)

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        document = self.documents.get(environ.get("PATH_INFO", ""))
        if document is None or environ.get("REQUEST_METHOD") != "GET" \
                or environ.get("HTTP_COOKIE"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        key = (environ["PATH_INFO"], environ.get("wsgi.url_scheme", "http"))
        version = document[1]()
        kept = self.kept.get(key)
        if kept is None or kept[0] != version:
            return self._answer_and_keep(key, document[0], version, environ, start_response)
        start_response(kept[1], list(kept[2]))
        if kept[4] is not None:
            kept[4].inc()
            kept[5].observe(time.perf_counter() - started)
        return [kept[3]]

    def _answer_and_keep(self, key, endpoint: str, version, environ, start_response):
        answered: list = []

        def capture(status, headers, exc_info=None):
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        iterable = self.wsgi_app(environ, capture)
        try:
            body = b"".join(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        if answered and answered[0].startswith("200 "):
            metrics = self.app.extensions.get("idp.metrics")
            counter = metrics.requests.labels(endpoint, "GET", "200") if metrics else None
            latency = metrics.latency.labels(endpoint) if metrics else None
            self.kept[key] = (version, answered[0], tuple(answered[1]), body, counter, latency)
        return [body]

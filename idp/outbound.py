"""Calls to outside systems with a total deadline (registries, SMS gateways, SMTP, relying
parties' back-channel logout and JWKS).

A socket time-out bounds each read, not the call: a server that trickles its answer a byte at
a time stays within every read's time-out and holds the citizen's request for as long as it
likes, past the worker's own time-out (issue 9). So each call gets a deadline, and a watchdog
shuts the call's socket down when it passes: the blocked read returns at once, the call fails
as :class:`DeadlineExceeded`, and the citizen gets the "try again later" page in time.

Deadlines are kept below the worker's time-out (docs/registries.md, "Deadlines"): the slowest
request makes at most two outside calls in a row, each bounded by its own setting.
"""

import contextlib
import contextvars
import socket
import threading
import time
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class DeadlineExceeded(requests.Timeout):
    """An outside call did not finish by its deadline (its socket was shut down)."""


class Watchdog:
    """Shuts down the sockets it guards once ``seconds`` have passed, unless stopped first."""

    def __init__(self, seconds: float) -> None:
        self.ends_at = time.monotonic() + seconds
        self.fired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())

    def guard(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.fired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[Watchdog]:
    """A :class:`Watchdog` for the block; stopped when the block ends."""
    watch = Watchdog(seconds)
    try:
        yield watch
    finally:
        watch.stop()


# The watchdog of the HTTP call running in this thread, for the connection that reads its answer.
_current: contextvars.ContextVar[Watchdog | None] = contextvars.ContextVar("outbound_watchdog",
                                                                         default=None)


class _GuardedMixin:
    def getresponse(self, *args, **kwargs):
        watch = _current.get()
        if watch is not None:
            watch.guard(self.sock)
        return super().getresponse(*args, **kwargs)


class _GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """Reads ``timeout`` (a number of seconds) as the deadline of the whole request: connecting,
    sending, the status line, the headers and the body."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool,
                                                   "https": _GuardedHTTPSPool}

    def send(self, request, stream=False, timeout=None, **kwargs):
        if not isinstance(timeout, int | float):
            raise TypeError("an outside call needs its deadline in seconds")
        with watchdog(timeout) as watch:
            token = _current.set(watch)
            try:
                response = super().send(request, stream=True, timeout=(timeout, timeout + 1),
                                        **kwargs)
                # The body is read here, under the watchdog, even when ``stream`` was asked.
                response.content  # noqa: B018
            except requests.RequestException:
                if watch.fired:
                    raise DeadlineExceeded(f"no answer within {timeout:g} s") from None
                raise
            finally:
                _current.reset(token)
        if watch.fired:
            # A body without a length ends where the socket was shut: it is not the answer.
            response.close()
            raise DeadlineExceeded(f"no answer within {timeout:g} s")
        return response


def session() -> requests.Session:
    """A ``requests`` session whose ``timeout=`` is each request's total deadline."""
    http = requests.Session()
    adapter = DeadlineAdapter()
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http

"""Calls to outside systems with a total deadline (registries, SMS gateways, SMTP, relying
parties' back-channel logout and JWKS).

A socket time-out bounds each read, not the call: a server that trickles its answer a byte at
a time stays within every read's time-out and holds the citizen's request for as long as it
likes, past the worker's own time-out (issue 9). So each call gets a deadline, and a watchdog
shuts the call's socket down when it passes: the blocked read returns at once, the call fails
as :class:`DeadlineExceeded`, and the citizen gets the "try again later" page in time.

Name resolution is under the same deadline. ``getaddrinfo`` cannot be interrupted and takes no
time-out (a dead DNS server holds it for the resolver's own retries, tens of seconds), so it
runs on a small pool of threads and the call waits for it only while its deadline lasts; a
lookup still hanging then is left to finish in the background (as urllib3's maintainers
advise: urllib3 issue 1334). The connection then tries the addresses found, in order.

Deadlines are kept below the worker's time-out (docs/registries.md, "Deadlines"): the slowest
request makes at most two outside calls in a row, each bounded by its own setting.
"""

import contextlib
import contextvars
import ipaddress
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

log = logging.getLogger(__name__)
T = TypeVar("T")


class DeadlineExceeded(requests.Timeout):
    """An outside call did not finish by its deadline (its socket was shut down)."""


class Watchdog:
    """Shuts down the sockets it guards once ``seconds`` have passed, unless stopped first."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self.ends_at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, seconds), self.fire)
        self._timer.daemon = True
        self._timer.start()

    def guard(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self.fired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def remaining(self) -> float:
        """Seconds left before the deadline (0 once it has passed)."""
        return max(0.0, self.ends_at - time.monotonic())

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def fire(self) -> None:
        """The deadline has passed: shut the guarded sockets down now."""
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


# Lookups in flight at once, across the process's threads: a DNS server that hangs holds at most
# this many threads; later lookups wait for one (within their own deadline) instead of adding more.
RESOLVER_THREADS = 8
_resolver = ThreadPoolExecutor(RESOLVER_THREADS, thread_name_prefix="outbound-resolve")


class ResolutionTimeout(OSError):
    """A host name was not resolved within the time left to the call."""


def addresses(host: str, port: int, seconds: float) -> list[str]:
    """The IP addresses of ``host`` (in the resolver's order), found within ``seconds``.

    Raises :class:`ResolutionTimeout` when the lookup takes longer (it is left to finish in
    the background) and :class:`socket.gaierror` when the name does not resolve.
    """
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_address(host))]
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        found = lookup.result(timeout=seconds)
    except FutureTimeout:
        lookup.cancel()  # not started yet: it never will be
        raise ResolutionTimeout(f"no address for {host} within {seconds:g} s") from None
    return list(dict.fromkeys(str(sockaddr[0]) for *_info, sockaddr in found))


# The watchdog of the HTTP call running in this thread, for the connection that reads its answer.
_current: contextvars.ContextVar[Watchdog | None] = contextvars.ContextVar("outbound_watchdog",
                                                                         default=None)


class _GuardedMixin:
    def _new_conn(self):
        """Connects to the host's addresses, resolved within the deadline (:func:`addresses`).

        Only the address connected to changes (``_dns_host``, urllib3's name for it): the Host
        header, TLS's server name and the certificate check still use the host name.
        """
        watch = _current.get()
        if watch is None:
            return super()._new_conn()
        name = self._dns_host
        try:
            found = addresses(name, self.port, watch.remaining())
        except ResolutionTimeout as exc:
            watch.fire()  # the lookup had all the time that was left
            raise ConnectTimeoutError(self, str(exc)) from None
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        failure: NewConnectionError | None = None
        try:
            for address in found:
                self._dns_host = address
                try:
                    return super()._new_conn()
                except NewConnectionError as exc:
                    failure = exc
        finally:
            self._dns_host = name
        raise failure or NewConnectionError(self, f"no address for {name}")

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


# --- Retries and circuit breakers -----------------------------------------------------------------

class Retryable(Exception):
    """One attempt failed in a way another attempt may not (connection refused, HTTP 503)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Failed(Exception):
    """A call failed: the service is down, too slow, answered garbage, or its breaker is open.

    ``reason`` names the failure class only (adapters put no personal data in it).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Breaker:
    """A circuit breaker: after ``threshold`` failed calls in a row the service is taken to be
    down ("open") and calls fail at once, without waiting for it, for ``reset_seconds``; then
    one trial call at a time is let through ("half-open"), and its outcome closes or reopens it.

    Per process: each worker learns within ``threshold`` calls; nothing is shared to be lost.
    """

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

    def __init__(self, name: str, threshold: int, reset_seconds: float) -> None:
        self.name = name
        self.threshold = max(1, threshold)
        self.reset_seconds = reset_seconds
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_running = False

    @property
    def state(self) -> str:
        with self._lock:
            return self._state()

    def _state(self) -> str:
        if self._opened_at is None:
            return self.CLOSED
        if time.monotonic() - self._opened_at < self.reset_seconds:
            return self.OPEN
        return self.HALF_OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one trial at a time may."""
        with self._lock:
            state = self._state()
            if state == self.CLOSED:
                return True
            if state == self.HALF_OPEN and not self._trial_running:
                self._trial_running = True
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            if self._opened_at is not None:
                log.warning("outside service back", extra={"service": self.name})
            self._failures, self._opened_at, self._trial_running = 0, None, False

    def release(self) -> None:
        """A call ended without telling whether the service works: let another trial go."""
        with self._lock:
            self._trial_running = False

    def failed(self) -> None:
        with self._lock:
            self._failures += 1
            trial, self._trial_running = self._trial_running, False
            if trial or (self._opened_at is None and self._failures >= self.threshold):
                self._opened_at = time.monotonic()
                log.warning("outside service down: failing fast", extra={
                    "service": self.name, "seconds": self.reset_seconds})


class OutsideService:
    """One outside system as the provider calls it: a total deadline per call, bounded retries
    with back-off for calls that may be repeated, and a circuit breaker.

    ``attempt(seconds)`` makes one attempt that must end within ``seconds``; it raises
    :class:`Retryable` for a failure worth another try and :class:`Failed` for any other.
    Retries never outlive the call's deadline: each one gets what is left of it.
    """

    # Back-off before retry n (from 0): BACKOFF × 2ⁿ, jittered to between half and all of it.
    BACKOFF = 0.1
    # An attempt is not started with less time than this left.
    MIN_ATTEMPT = 0.2

    def __init__(self, name: str, deadline: float, *, retries: int = 2,
                 breaker_failures: int = 5, breaker_seconds: float = 30.0) -> None:
        self.name = name
        self.deadline = deadline
        self.retries = max(0, retries)
        self.breaker = Breaker(name, breaker_failures, breaker_seconds)

    def call(self, attempt: Callable[[float], T], *, idempotent: bool) -> T:
        """The result of the first attempt that succeeds; :class:`Failed` when none did, or at
        once when the breaker is open. Only an ``idempotent`` call is tried more than once."""
        if not self.breaker.allow():
            raise Failed("circuit open")
        ends_at = time.monotonic() + self.deadline
        tries = 1 + (self.retries if idempotent else 0)
        number = 0
        while True:
            try:
                result = attempt(max(0.0, ends_at - time.monotonic()))
            except Retryable as exc:
                pause = self.BACKOFF * 2 ** number * random.uniform(0.5, 1.0)
                number += 1
                if number < tries and ends_at - time.monotonic() - pause >= self.MIN_ATTEMPT:
                    time.sleep(pause)
                    continue
                self.breaker.failed()
                raise Failed(f"{exc.reason} after {number} attempt(s)") from None
            except Failed:
                self.breaker.failed()
                raise
            except BaseException:
                # Not an answer about the service (a bug, an interrupted worker): no verdict.
                self.breaker.release()
                raise
            self.breaker.succeeded()
            return result

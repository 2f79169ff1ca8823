"""The only door to Redis: namespaced keys, JSON values, TTLs and atomic one-time operations.

Short-lived state (journeys, one-time codes, captcha answers, authorization codes, revocation
markers) lives here and expires by itself. Without a configured URL an in-process fakeredis
stands in, which is right for one process and for tests.
"""

import contextlib
import json
import time
from typing import Any

import redis

# Every Redis call gives up within these: an outage is a quick "try again later", not a hang.
REDIS_TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}


class StoreUnavailable(Exception):
    """Redis could not be reached; callers show a 'try again later' page."""


class Store:
    """JSON values under a key prefix, every write with an expiry."""

    def __init__(self, client: redis.Redis, prefix: str = "idp:") -> None:
        self.redis = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str) -> "Store":
        if not url:
            # Imported only here: a provider on Redis does not carry its ~8 MB.
            import fakeredis

            return cls(fakeredis.FakeRedis())
        # redis-py 8 caps a pool at 100 connections by default; every open event stream of the
        # QR page holds one for its subscription (idp events serves thousands).
        return cls(redis.Redis.from_url(url, health_check_interval=30, max_connections=10_000,
                                        **REDIS_TIMEOUTS))

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.redis, method)(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def get(self, key: str) -> Any:
        raw = self._call("get", self.prefix + key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any, ttl: int) -> None:
        self._call("set", self.prefix + key, json.dumps(value), ex=max(1, int(ttl)))

    def put_keep_ttl(self, key: str, value: Any) -> bool:
        """Replace a value without extending its life; False if it has already expired."""
        return bool(self._call("set", self.prefix + key, json.dumps(value), keepttl=True, xx=True))

    def add(self, key: str, value: Any, ttl: int) -> bool:
        """Set only if absent (SET NX): True for the one caller that wins."""
        return bool(self._call("set", self.prefix + key, json.dumps(value), ex=max(1, int(ttl)),
                               nx=True))

    def take(self, key: str) -> Any:
        """Read and delete in one step (GETDEL): a value can be taken once."""
        raw = self._call("getdel", self.prefix + key)
        return None if raw is None else json.loads(raw)

    def delete(self, *keys: str) -> None:
        if keys:
            self._call("delete", *(self.prefix + k for k in keys))

    def add_member(self, key: str, member: str, ttl: int) -> None:
        """Add ``member`` to the set at ``key``; the set lives ``ttl`` from this addition."""
        pipe = self.redis.pipeline()
        pipe.sadd(self.prefix + key, member)
        pipe.expire(self.prefix + key, max(1, int(ttl)))
        try:
            pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def members(self, key: str) -> set[str]:
        """The members of the set at ``key`` (empty when absent)."""
        return {m.decode() if isinstance(m, bytes) else m
                for m in self._call("smembers", self.prefix + key)}

    def remove_members(self, key: str, *members: str) -> None:
        if members:
            self._call("srem", self.prefix + key, *members)

    def get_many(self, keys: list[str]) -> list[Any]:
        """Several values in one round trip (None for each absent key)."""
        if not keys:
            return []
        return [_json_or_none(raw) for raw in self._call("mget", [self.prefix + k for k in keys])]

    def incr(self, key: str, ttl: int) -> int:
        """Count up; the counter's life starts at its first increment."""
        pipe = self.redis.pipeline()
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, max(1, int(ttl)), nx=True)
        try:
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        return int(count)

    def decr(self, key: str) -> int:
        """Count down what :meth:`incr` counted up (an open stream closing)."""
        return int(self._call("decr", self.prefix + key))

    def ttl(self, key: str) -> int:
        """Seconds left for ``key`` (0 when absent)."""
        return max(0, int(self._call("ttl", self.prefix + key)))

    def get_with_ttl(self, key: str) -> tuple[Any, int]:
        """A value and the seconds it has left, in one round trip ((None, 0) when absent)."""
        value, ttl = self.batch().get(key).ttl(key).execute()
        return (value, ttl) if value is not None else (None, 0)

    def batch(self) -> "Batch":
        """Several operations sent together in one round trip; see ``Batch``."""
        return Batch(self)

    def publish(self, channel: str, message: str) -> None:
        """Tell every instance's subscribers of ``channel`` (pub/sub fan-out)."""
        self._call("publish", self.prefix + channel, message)

    def subscribe(self, channel: str) -> "Subscription":
        """Listen on ``channel``; close the subscription when done (it holds a connection)."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.prefix + channel)
        except redis.RedisError as exc:
            pubsub.close()
            raise StoreUnavailable(type(exc).__name__) from exc
        return Subscription(pubsub)

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False


class Subscription:
    """One pub/sub subscription: wait for the next message, then close."""

    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    def wait(self, timeout: float) -> str | None:
        """The next message within ``timeout`` seconds, else None.

        redis-py answers None for the subscribe confirmation too (with
        ``ignore_subscribe_messages``), so it keeps listening until the deadline.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                message = self._pubsub.get_message(timeout=left)
            except redis.RedisError as exc:
                raise StoreUnavailable(type(exc).__name__) from exc
            if message is not None and message.get("type") == "message":
                data = message["data"]
                return data.decode() if isinstance(data, bytes) else str(data)

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self._pubsub.close()


def _json_or_none(raw: Any) -> Any:
    return None if raw is None else json.loads(raw)


class Batch:
    """Store operations queued and sent to Redis in one round trip (a pipeline).

    Each method queues one operation with the same meaning as the ``Store`` method of that
    name and returns the batch; ``execute()`` sends them and returns one result per operation,
    in order, decoded as the ``Store`` method would. Not a transaction: each operation is
    atomic on its own, as it is when sent alone.

        journey, seconds_left = store.batch().get(key).ttl(key).execute()
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pipe = store.redis.pipeline(transaction=False)
        # Per queued operation: how many replies it takes and how its result is made.
        self._results: list[tuple[int, Any]] = []

    def _key(self, key: str) -> str:
        return self._store.prefix + key

    def get(self, key: str) -> "Batch":
        self._pipe.get(self._key(key))
        self._results.append((1, _json_or_none))
        return self

    def put(self, key: str, value: Any, ttl: int) -> "Batch":
        self._pipe.set(self._key(key), json.dumps(value), ex=max(1, int(ttl)))
        self._results.append((1, lambda _reply: None))
        return self

    def put_keep_ttl(self, key: str, value: Any) -> "Batch":
        self._pipe.set(self._key(key), json.dumps(value), keepttl=True, xx=True)
        self._results.append((1, bool))
        return self

    def add(self, key: str, value: Any, ttl: int) -> "Batch":
        self._pipe.set(self._key(key), json.dumps(value), ex=max(1, int(ttl)), nx=True)
        self._results.append((1, bool))
        return self

    def take(self, key: str) -> "Batch":
        self._pipe.getdel(self._key(key))
        self._results.append((1, _json_or_none))
        return self

    def delete(self, *keys: str) -> "Batch":
        if keys:
            self._pipe.delete(*(self._key(k) for k in keys))
            self._results.append((1, lambda _reply: None))
        else:
            self._results.append((0, lambda _reply: None))
        return self

    def add_member(self, key: str, member: str, ttl: int) -> "Batch":
        self._pipe.sadd(self._key(key), member)
        self._pipe.expire(self._key(key), max(1, int(ttl)))
        self._results.append((2, lambda _replies: None))
        return self

    def incr(self, key: str, ttl: int) -> "Batch":
        self._pipe.incr(self._key(key))
        self._pipe.expire(self._key(key), max(1, int(ttl)), nx=True)
        self._results.append((2, lambda replies: int(replies[0])))
        return self

    def ttl(self, key: str) -> "Batch":
        self._pipe.ttl(self._key(key))
        self._results.append((1, lambda reply: max(0, int(reply))))
        return self

    def execute(self) -> list[Any]:
        try:
            replies = self._pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        results, at = [], 0
        for count, make in self._results:
            if count == 2:
                results.append(make(replies[at:at + 2]))
            else:
                results.append(make(replies[at] if count else None))
            at += count
        return results

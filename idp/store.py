"""The only door to Redis: namespaced keys, JSON values, TTLs and atomic one-time operations.

Short-lived state (journeys, one-time codes, captcha answers, authorization codes, revocation
markers) lives here and expires by itself. Without a configured URL an in-process fakeredis
stands in, which is right for one process and for tests.
"""

import json
from typing import Any

import fakeredis
import redis


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
            return cls(fakeredis.FakeRedis())
        return cls(redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                        health_check_interval=30))

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

    def ttl(self, key: str) -> int:
        """Seconds left for ``key`` (0 when absent)."""
        return max(0, int(self._call("ttl", self.prefix + key)))

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False

"""The store's batch (one round trip for several operations) means what each call means."""

import fakeredis
import pytest
from conftest import dead_redis

from idp.store import Store, StoreUnavailable


@pytest.fixture
def store() -> Store:
    return Store(fakeredis.FakeRedis())


def test_batch_results_match_single_calls(store):
    store.put("a", {"x": 1}, 60)
    results = (store.batch().get("a").ttl("a").get("missing").put("b", [1, 2], 30)
               .add("b", "no", 30).add("c", "yes", 30).take("c").take("c")
               .incr("n", 60).incr("n", 60).delete("a", "b").delete()
               .put_keep_ttl("a", 1).execute())
    assert results[0] == {"x": 1}
    assert 0 < results[1] <= 60
    assert results[2] is None
    assert results[3] is None
    assert results[4:8] == [False, True, "yes", None]
    assert results[8:10] == [1, 2]
    assert results[10:12] == [None, None]
    assert results[12] is False  # expired (deleted) values are not revived
    assert store.get("a") is None and store.get("b") is None
    assert 0 < store.ttl("n") <= 60


def test_get_with_ttl(store):
    assert store.get_with_ttl("j") == (None, 0)
    store.put("j", {"step": "otp"}, 120)
    value, seconds = store.get_with_ttl("j")
    assert value == {"step": "otp"} and 0 < seconds <= 120


def test_batch_failure_is_store_unavailable():
    broken = Store(dead_redis())
    with pytest.raises(StoreUnavailable):
        broken.batch().get("a").execute()
    with pytest.raises(StoreUnavailable):
        broken.get_with_ttl("a")

"""DuplicateDetector / notification_key: what counts as the same delivery, bounded and thread-safe."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta, timezone

import pytest

from bandwidth_provider.webhooks import Claim, DuplicateDetector, Notification, notification_key, parse_notification

from . import samples

BASE = parse_notification(samples.ORDER_COMPLETE)


def test_reparsed_payload_has_the_same_key() -> None:
    assert notification_key(parse_notification(samples.ORDER_COMPLETE)) == notification_key(BASE)


def test_number_order_does_not_matter() -> None:
    a = dataclasses.replace(BASE, telephone_numbers=("1", "2"))
    b = dataclasses.replace(BASE, telephone_numbers=("2", "1"))
    assert notification_key(a) == notification_key(b)


@pytest.mark.parametrize(
    "change",
    [
        {"subscription_id": "other"},
        {"order_id": "other"},
        {"status": "FAILED"},
        {"last_modified": datetime(2024, 2, 22, 20, 40, 48, tzinfo=timezone.utc)},
        {"telephone_numbers": ("9122087805",)},
        {"note": "a note was added"},
        {"event_type": "MESSAGING_LOST", "order_type": None},
    ],
)
def test_each_identifying_field_changes_the_key(change: dict[str, object]) -> None:
    assert notification_key(dataclasses.replace(BASE, **change)) != notification_key(BASE)  # type: ignore[arg-type]


def test_seen_records_and_evicts_oldest_first() -> None:
    detector = DuplicateDetector(capacity=3)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    notes = [dataclasses.replace(BASE, last_modified=start + timedelta(seconds=i)) for i in range(5)]
    assert [detector.seen(n) for n in notes] == [False] * 5
    assert len(detector) == 3
    assert detector.seen(notes[4]) is True
    assert detector.seen(notes[0]) is False  # evicted, so new again


def test_recently_seen_keys_are_kept_longest() -> None:
    detector = DuplicateDetector(capacity=2)
    a, b, c = (dataclasses.replace(BASE, order_id=x) for x in "abc")
    detector.seen(a)
    detector.seen(b)
    assert detector.seen(a) is True  # refreshes a
    detector.seen(c)  # evicts b, not a
    assert detector.seen(a) is True
    assert detector.seen(b) is False


def test_forget() -> None:
    detector = DuplicateDetector()
    assert detector.seen(BASE) is False
    detector.forget(BASE)
    assert detector.seen(BASE) is False


def test_exactly_one_thread_wins() -> None:
    detector = DuplicateDetector()
    threads = 8
    barrier = threading.Barrier(threads)
    outcomes: list[bool] = []
    lock = threading.Lock()

    def race(n: Notification) -> None:
        barrier.wait()
        result = [detector.seen(n) for _ in range(50)]
        with lock:
            outcomes.extend(result)

    workers = [threading.Thread(target=race, args=(BASE,)) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert outcomes.count(False) == 1
    assert len(outcomes) == threads * 50


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DuplicateDetector(capacity=0)


def test_claim_release_only_a_handled_copy_counts() -> None:
    detector = DuplicateDetector(wait=0)
    assert detector.claim(BASE) is Claim.NEW
    assert detector.claim(BASE) is Claim.BUSY  # in flight: neither new nor done
    detector.release(BASE, handled=False)
    assert detector.claim(BASE) is Claim.NEW  # the failed copy left no trace
    detector.release(BASE, handled=True)
    assert detector.claim(BASE) is Claim.DONE
    assert len(detector) == 1

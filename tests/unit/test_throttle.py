"""Issue 14 item 11: the process-wide limiter behind `bandwidth:maxRequestsPerSecond`, on an injected clock.

No sleeps: the limiter only says how long to wait; the tests move a fake clock by that much. The bound that
matters is what a receiver counts: at most N arrivals in any one-second window, even when each request
is delayed on its way by up to the limiter's margin.
"""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bandwidth_provider.client import DashboardClient, RetryPolicy
from bandwidth_provider.client.throttle import MARGIN, RateLimiter, shared_limiter
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def acquire_at(limiter: RateLimiter, clock: Clock, arrival: float, late: float = 0.0) -> float:
    """When a request arriving at `arrival` is let through, each wait overrunning by `late` (a busy machine)."""
    clock.now = max(clock.now, arrival)
    limiter.acquire(lambda s: clock.sleep(s + late))
    return clock.now


def send_times(limiter: RateLimiter, clock: Clock, arrivals: list[float], lateness: list[float]) -> list[float]:
    return [acquire_at(limiter, clock, a, late) for a, late in zip(sorted(arrivals), lateness, strict=False)]


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


def test_a_burst_is_spaced_evenly_and_the_next_second_waits_for_the_margin() -> None:
    clock = Clock()
    limiter = RateLimiter(5, clock=clock)
    sent = [acquire_at(limiter, clock, 1000.0) - 1000.0 for _ in range(7)]  # seven requests at one instant
    assert sent == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0 + MARGIN, 1.2 + MARGIN])


def test_a_late_waker_is_counted_when_it_really_sends() -> None:
    """A thread that wakes 0.3 s late pushes the next ones back: they never crowd into its second."""
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    first = acquire_at(limiter, clock, 1000.0)
    second = acquire_at(limiter, clock, 1000.0, late=0.3)
    third = acquire_at(limiter, clock, 1000.0)
    assert (second - first, third - first) == pytest.approx((0.8, 1.3))
    assert most_in_one_second([first, second, third]) <= 2


def test_an_idle_limiter_lets_a_request_through_at_once() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    assert limiter.try_acquire() == 0.0
    clock.now += 5
    assert limiter.try_acquire() == 0.0
    assert limiter.try_acquire() == pytest.approx(0.5)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1, 2, 2.5, 5, 10, 33]),
    arrivals=st.lists(st.floats(0, 20, allow_nan=False), min_size=1, max_size=120),
    delays=st.lists(st.floats(0, MARGIN, allow_nan=False), min_size=120, max_size=120),
    lateness=st.lists(st.floats(0, 0.5, allow_nan=False), min_size=120, max_size=120),
)
def test_receivers_never_see_more_than_the_limit_in_any_second(
    rate: float, arrivals: list[float], delays: list[float], lateness: list[float]
) -> None:
    clock = Clock()
    limiter = RateLimiter(rate, clock=clock)
    sent = send_times(limiter, clock, [1000.0 + a for a in arrivals], lateness)
    assert all(s >= a for s, a in zip(sent, sorted(1000.0 + a for a in arrivals), strict=True))
    received = [s + d for s, d in zip(sent, delays, strict=False)]  # each delayed on the way by up to MARGIN
    assert most_in_one_second(received) <= max(1, int(rate))


def test_threads_share_one_limiter() -> None:
    """Eight threads at once on a frozen clock: exactly N get through, every other one is told to wait."""
    clock = Clock()
    limiter = RateLimiter(5, clock=clock)
    answers: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(10):
            answer = limiter.try_acquire()
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(0.0) == 1, "the clock does not move: one slot, then the spacing applies"
    assert all(a == pytest.approx(0.2) for a in answers if a), answers


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_a_limiter_needs_a_positive_finite_rate(bad: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(bad)


def test_every_client_of_one_process_shares_the_limiter_of_its_rate() -> None:
    assert shared_limiter(None) is None
    assert shared_limiter(7.0) is shared_limiter(7.0)
    assert shared_limiter(7.0) is not shared_limiter(8.0)
    config = {"bandwidth:apiUrl": "http://127.0.0.1:9/api", "bandwidth:maxRequestsPerSecond": "7"}
    one = Settings.resolve({**config, "bandwidth:accountId": "9900000"}, environ={}).client()
    other = Settings.resolve(config, environ={}).client("9911111")  # another account, same process
    assert one.rate_limiter is other.rate_limiter is shared_limiter(7.0)
    assert Settings.resolve({}, environ={}).client("9900000").rate_limiter is None, "unset means no limit"
    from_env = Settings.resolve({}, environ={"BANDWIDTH_MAX_REQUESTS_PER_SECOND": "7"})
    assert from_env.max_requests_per_second == 7.0


def test_the_client_waits_what_the_limiter_says_before_every_request() -> None:
    clock = Clock()
    waited: list[float] = []

    def wait(seconds: float) -> None:
        waited.append(seconds)
        clock.sleep(seconds)

    with Emulator(accounts=[("9900000", "u", "p")]) as emu:
        client = DashboardClient(
            emu.api_url,
            "9900000",
            username="u",
            password="p",
            retry=RetryPolicy(sleep=wait),
            rate_limiter=RateLimiter(2, clock=clock),
        )
        for _ in range(3):
            client.list_subscriptions()
    assert waited == pytest.approx([0.5, 0.5 + MARGIN])  # 0.5 s apart, the third 1 s + MARGIN after the first

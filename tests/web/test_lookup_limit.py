"""The limit on unknown links per address, against a plain model of it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.web.security import FailedLookups

events = st.lists(
    st.tuples(
        st.sampled_from(["fail", "ask"]),
        st.sampled_from(["a", "b", "c"]),
        st.floats(min_value=0, max_value=50, allow_nan=False),
    ),
    max_size=60,
)


@given(events)
def test_an_address_is_held_back_exactly_while_it_has_too_many_recent_failures(
    steps: list[tuple[str, str, float]],
) -> None:
    limiter = FailedLookups(limit=3, window_s=20.0, max_addresses=100)
    now = 0.0
    failures: list[tuple[str, float]] = []
    for action, address, gap in steps:
        now += gap
        if action == "fail":
            limiter.failed(address, now)
            failures.append((address, now))
        else:
            recent = [t for a, t in failures if a == address and t > now - 20.0]
            assert limiter.blocked(address, now) == (len(recent) >= 3)


def test_a_flood_of_addresses_keeps_memory_bounded() -> None:
    limiter = FailedLookups(limit=3, window_s=600.0, max_addresses=50)
    for i in range(1000):
        limiter.failed(f"10.0.{i // 256}.{i % 256}", float(i))
    assert len(limiter._failures) <= 50

"""The consent rule itself (bot/consent.py, bot/children.py), as properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.children import child_key, find_by_name, tidy_child_name
from bot.consent import Consent, SetBy, blocking, decide, may_leave
from storage.records import Child, ConsentRow

T0 = datetime(2026, 9, 1, tzinfo=UTC)
answers = st.lists(
    st.tuples(st.booleans(), st.integers(0, 1000).map(lambda m: T0 + timedelta(minutes=m))),
    max_size=4,
)


@given(teacher=st.one_of(st.none(), st.booleans()), family=answers)
def test_the_family_decides_any_no_wins_else_the_teacher(
    teacher: bool | None, family: list[tuple[bool, datetime]]
) -> None:
    consent = decide(ConsentRow(1, teacher, T0 if teacher is not None else None, tuple(family)))
    if any(not a for a, _ in family):
        assert (consent.state, consent.set_by) == (Consent.NON, SetBy.FAMILY)
    elif family:
        assert (consent.state, consent.set_by) == (Consent.OUI, SetBy.FAMILY)
    elif teacher is None:
        assert consent.state is Consent.PAS_ENCORE and consent.set_by is None
    else:
        assert consent.state is (Consent.OUI if teacher else Consent.NON)
        assert consent.set_by is SetBy.TEACHER


states = st.sampled_from(list(Consent))


@given(
    klass=st.dictionaries(st.integers(1, 30), states, max_size=12),
    named=st.sets(st.integers(1, 35), max_size=5),
)
def test_a_recording_leaves_only_if_every_child_it_concerns_agreed(
    klass: dict[int, Consent], named: set[int]
) -> None:
    concerned = named if named else set(klass)
    allowed = all(klass.get(c) is Consent.OUI for c in concerned)
    assert may_leave(named, klass) is allowed
    assert set(blocking(named, klass)) == {c for c in concerned if klass.get(c) is not Consent.OUI}


def _child(i: int, name: str) -> Child:
    return Child(i, 1, name, None)


def test_initials_tell_children_apart_and_ambiguity_is_never_guessed() -> None:
    kids = [_child(1, "Léa B."), _child(2, "Léa M."), _child(3, "Tom")]
    assert find_by_name("#Léa_B"[1:], kids).child == kids[0]
    assert find_by_name("lea m", kids).child == kids[1]
    assert find_by_name("LEA M.", kids).child == kids[1]
    match = find_by_name("Léa", kids)
    assert match.child is None and match.ambiguous and len(match.candidates) == 2
    assert find_by_name("tom", kids).child == kids[2]
    assert find_by_name("Zoé", kids).child is None and not find_by_name("Zoé", kids).ambiguous
    assert tidy_child_name("léa_b") == "Léa B." and child_key("Léa B.") == child_key("#lea_b"[1:])


@given(st.text(alphabet="abcéèAZ _.", max_size=12))
def test_a_name_always_finds_itself(name: str) -> None:
    tidy = tidy_child_name(name)
    if not child_key(tidy):
        return
    assert find_by_name(tidy, [_child(1, tidy)]).child is not None

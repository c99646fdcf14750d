"""French typography on the way out: spaces that do not break before a mark,
’ for apostrophes; never a link, a code or a command changed, never a text in
another language, and applying it twice changes nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.i18n import LANGUAGES
from bot.ports import Choice, OutboundMessage
from bot.typography import NARROW, NO_BREAK, french, typeset, typeset_message

# Texts made of what the rule looks at, and what it must leave alone.
ALPHABET = "abcéL' ;:!?«»/#@.-_\n19"
texts = st.text(alphabet=ALPHABET, max_size=60)
words = st.text(alphabet="abcdeéç'", min_size=1, max_size=8)
CODE = st.from_regex(r"[A-Za-z0-9_-]{20,64}", fullmatch=True)
URL = st.builds(
    lambda host, path, query: f"https://{host}.example.org/{path}?{query}",
    st.from_regex(r"[a-z]{1,10}", fullmatch=True),
    st.text(alphabet="abc/'-_:!?;", max_size=12),
    st.text(alphabet="abc=&'?!:;", max_size=12),
)
COMMAND = st.builds(
    lambda prefix, name, arg: f"{prefix}{name}{arg}",
    st.sampled_from(["/", "!"]),
    st.sampled_from(["aide", "ecouter", "frequence", "consentement", "start"]),
    st.sampled_from(["", "_2", ":x", "?", "'a"]),
)
TAG = st.builds(lambda name: f"#{name}", st.sampled_from(["Lina", "N'Golo", "Léa_B", "prive"]))
untouchable = st.one_of(CODE, URL, COMMAND, TAG, st.just("@lea:example.org"))


def test_the_marks() -> None:
    assert french("Bonjour ! Ça va ? Oui ; merci : tapez /aide.") == (
        f"Bonjour{NARROW}! Ça va{NARROW}? Oui{NARROW}; merci{NO_BREAK}: tapez /aide."
    )
    assert french("l'album « Le loup »") == f"l’album «{NO_BREAK}Le loup{NO_BREAK}»"
    assert french("Tapez !aide ou !ecouter 2") == "Tapez !aide ou !ecouter 2"
    assert french("https://t.me/bot?start=abc") == "https://t.me/bot?start=abc"
    assert french("Déjà fait\u202f!") == "Déjà fait\u202f!"  # what was typeset already


@given(texts)
def test_idempotent(text: str) -> None:
    once = french(text)
    assert french(once) == once
    assert len(once) == len(text)  # one character for one: lengths and limits hold


@given(st.lists(words, max_size=3), untouchable, st.lists(words, max_size=3), texts)
def test_links_codes_and_commands_are_never_changed(
    before: list[str], kept: str, after: list[str], tail: str
) -> None:
    text = " ".join([*before, kept, *after]) + " " + tail
    out = french(text)
    start = len(" ".join(before)) + (1 if before else 0)
    assert out[start : start + len(kept)] == kept
    if start:
        assert out[start - 1] == " "  # "tapez !aide": no mark, the space stays


@given(texts, st.sampled_from(sorted(set(LANGUAGES) - {"fr"})))
def test_other_languages_are_never_changed(text: str, lang: str) -> None:
    assert typeset(text, lang) == text
    message = OutboundMessage("c", text=text, choices=(Choice(text, "/x"),))
    assert typeset_message(message, lang) == message


@given(texts)
def test_only_spaces_and_apostrophes_change(text: str) -> None:
    out = french(text)
    for was, now in zip(text, out, strict=True):
        assert was == now or (was, now) in {(" ", NARROW), (" ", NO_BREAK), ("'", "’")}

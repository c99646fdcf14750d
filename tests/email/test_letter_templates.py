"""A fan-out's e-mail made once and filled per family reads exactly as the
e-mail built in full for that family: same headers, same plain text and
HTML; each family with its own links, address and Message-ID."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtplib.email import flatten_message
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.email import mime
from adapters.email.letter_templates import LetterTemplates
from bot.ports import Link, OutboundMessage

SENDER = "Petites Voix <voix@example.org>"
PUBLIC = "https://voix.example.org"
NOW = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
HEADERS = (
    "Subject",
    "From",
    "To",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
)


def letter(family: int, *, language: str = "fr", text: str | None = None) -> OutboundMessage:
    page = f"{PUBLIC}/f/famille-{family}"
    return OutboundMessage(
        chat_id=f"famille{family}@example.org",
        text=text
        or (
            "Bonjour,\n\nLa classe Moyens (École des Oliviers) a publié un nouvel "
            "enregistrement dans l'album « Le loup ». Il s'écoute sur la page de votre famille :"
        ),
        idempotency_key=f"pv-delivery-{family}",
        subject="Moyens : nouvel enregistrement, « Groupe 1 »",
        links=(Link("Groupe 1", f"{page}#r7", "10 s"),),
        settings_url=f"{page}#reglages",
        unsubscribe_url=f"{PUBLIC}/e/desinscription/{family}-abcdefghijklmnopqrstuv",
        language=language,
        right_to_left=language == "ar",
    )


def parsed(data: bytes) -> EmailMessage:
    mail = message_from_bytes(data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert not mail.defects and not any(part.defects for part in mail.walk())
    return mail


def composed(templates: LetterTemplates, message: OutboundMessage) -> EmailMessage:
    made = templates.compose(message, NOW)
    assert made is not None
    mail = parsed(made.data)
    assert str(mail["Message-ID"]) == made.message_id
    return mail


def built(message: OutboundMessage) -> EmailMessage:
    return parsed(flatten_message(mime.build(message, SENDER, NOW)))


def bodies(mail: EmailMessage) -> tuple[str, str]:
    """Plain text and HTML, line breaks as one (a text's canonical CRLF
    decoded from quoted-printable, LF from base64: the same text)."""
    plain, page = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and page is not None
    plain_text = str(plain.get_content()).replace("\r\n", "\n")
    html_text = str(page.get_content()).replace("\r\n", "\n")
    return plain_text, html_text


def assert_same(mail: EmailMessage, reference: EmailMessage) -> None:
    for name in HEADERS:
        assert str(mail[name]) == str(reference[name]), name
    assert [p.get_content_type() for p in mail.walk()] == [
        p.get_content_type() for p in reference.walk()
    ]
    assert bodies(mail) == bodies(reference)


def test_two_families_share_the_words_each_with_its_own_links_and_message_id() -> None:
    templates = LetterTemplates(SENDER)
    first, second = letter(1), letter(2)
    one, two = composed(templates, first), composed(templates, second)
    assert len(templates._kept) == 1  # made once for both
    for message, mail in ((first, one), (second, two)):
        assert_same(mail, built(message))
    assert str(one["Message-ID"]) == "<pv-delivery-1@example.org>"
    assert str(two["Message-ID"]) == "<pv-delivery-2@example.org>"
    assert str(one["To"]) == "famille1@example.org" and str(two["To"]) == "famille2@example.org"
    assert "/e/desinscription/1-" in str(one["List-Unsubscribe"])
    assert "/e/desinscription/2-" in str(two["List-Unsubscribe"])
    # The same words; the links are the only difference.
    for a, b in zip(bodies(one), bodies(two), strict=True):
        assert "famille-1#r7" in a and "famille-2#r7" in b and "famille-2" not in a
        assert a.replace("famille-1", "famille-2").replace("/1-", "/2-") == b
    assert one["Subject"] == two["Subject"]


def test_another_language_is_another_composition() -> None:
    templates = LetterTemplates(SENDER)
    french = composed(templates, letter(1))
    arabic_letter = letter(2, language="ar", text="مرحبا،\n\nتسجيل جديد للقسم.")
    arabic = composed(templates, arabic_letter)
    # The same words in another language's page (a name, untranslated).
    english_letter = letter(3, language="en")
    english = composed(templates, english_letter)
    assert len(templates._kept) == 3
    assert_same(arabic, built(arabic_letter))
    assert_same(english, built(english_letter))
    assert '<html lang="en" dir="ltr">' in bodies(english)[1]
    assert '<html lang="ar" dir="rtl">' in bodies(arabic)[1]
    assert '<html lang="fr" dir="ltr">' in bodies(french)[1]
    assert "مرحبا" in bodies(arabic)[0] and "Bonjour" not in bodies(arabic)[0]


def test_what_the_templates_do_not_know_is_built_in_full() -> None:
    templates = LetterTemplates(SENDER)
    assert templates.compose(replace(letter(1), chat_id="zoé@exemple.fr"), NOW) is None
    assert templates.compose(replace(letter(1), chat_id='"a b"@example.org'), NOW) is None
    spaced = replace(letter(1), unsubscribe_url=f"{PUBLIC}/e/a b")
    assert templates.compose(spaced, NOW) is None
    assert templates.compose(replace(letter(1), text="nul \x00 ici"), NOW) is None


_words = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from(" =\t.«»’éàç—🙂ءأ"),
    max_size=120,
)
_urls = st.builds(
    lambda path: f"{PUBLIC}/f/{path}",
    st.text(st.sampled_from("abcXYZ019-_.~=&?#%;:/+"), min_size=1, max_size=90),
)


@settings(max_examples=150, deadline=None)
@given(
    family=st.integers(0, 10**9),
    text=st.lists(_words, min_size=1, max_size=4).map("\n\n".join),
    subject=_words,
    labels=st.lists(st.tuples(_words.filter(str.strip), _words, _urls), max_size=3),
    footer=st.tuples(st.none() | _urls, st.none() | _urls),
    language=st.sampled_from(["fr", "ar", "en", "tr"]),
)
def test_a_filled_template_reads_as_the_email_built_in_full(
    family: int,
    text: str,
    subject: str,
    labels: list[tuple[str, str, str]],
    footer: tuple[str | None, str | None],
    language: str,
) -> None:
    message = OutboundMessage(
        chat_id=f"parent.{family}@ecole-{family % 7}.example.org",
        text=text,
        idempotency_key=f"pv-delivery-{family}",
        subject=subject,
        links=tuple(Link(label, url, detail) for label, detail, url in labels),
        settings_url=footer[0],
        unsubscribe_url=footer[1],
        language=language,
        right_to_left=language == "ar",
    )
    templates = LetterTemplates(SENDER)
    made = templates.compose(message, NOW)
    if made is None:  # only a text of its own with a NUL, excluded above
        raise AssertionError("a plain message was not composed")
    assert_same(parsed(made.data), built(message))

"""The printable invitation slips, read back from the PDF like a reader would."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp

from bot.slips import Slip, french_date, render_slips_pdf

PARIS = ZoneInfo("Europe/Paris")
NAMES = ["Zoé", "Maël", "Anaïs", "Noémie", "Chloé", "Léo", "Inès", "Gaëtan", "Cœlia"]
MATRIX_BOT = "@petitesvoix:ecole.example.org"


def _code(i: int) -> str:
    return f"Kx7_{i:02d}-aQ9mZpL3vT8wR2nB"  # 24 characters


def _link(code: str) -> str:
    return f"https://t.me/petitesvoixbot?start={code}"


def _class_slips() -> list[Slip]:
    return [
        Slip(
            child_first_name=name,
            class_name="MS-GS",
            school_name="École maternelle Les Coquelicots",
            code=_code(i),
            link=_link(_code(i)),
            expires_at=datetime(2026, 12, 24, 18, 0, tzinfo=PARIS),
        )
        for i, name in enumerate(NAMES)
    ]


def _pages(pdf: bytes) -> list[tuple[list[str], str, list[str]]]:
    """Per page: its text lines, its text with whitespace collapsed, the QR codes read."""
    doc = pdfium.PdfDocument(pdf)
    pages = []
    for page in doc:
        # pdfium reports a hyphen ending a line as U+FFFE and drops the line
        # break (it takes it for a word cut); an invitation code may end in "-".
        raw = page.get_textpage().get_text_range().replace("\ufffe", "-\n")
        lines = [" ".join(line.split()) for line in raw.splitlines()]
        image = page.render(scale=150 / 72).to_pil()
        qrs = [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
        pages.append((lines, " ".join(raw.split()), qrs))
    doc.close()
    return pages


@pytest.fixture(scope="module")
def class_pages() -> list[tuple[list[str], str, list[str]]]:
    return _pages(render_slips_pdf(_class_slips(), matrix_hint=MATRIX_BOT))


def test_nine_children_fill_three_a4_pages_of_four_slips(
    class_pages: list[tuple[list[str], str, list[str]]],
) -> None:
    assert len(class_pages) == 3
    doc = pdfium.PdfDocument(render_slips_pdf(_class_slips()))
    width, height = doc[0].get_size()
    doc.close()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    for index, name in enumerate(NAMES):
        _, text, _ = class_pages[index // 4]
        assert name in text, name
        assert f"pour la classe de {name}." in text


def test_each_code_stands_alone_on_its_own_line(
    class_pages: list[tuple[list[str], str, list[str]]],
) -> None:
    for index in range(len(NAMES)):
        lines, _, _ = class_pages[index // 4]
        assert _code(index) in lines


def test_each_qr_code_opens_that_childs_invitation_link(
    class_pages: list[tuple[list[str], str, list[str]]],
) -> None:
    for page_number, (_, _, qrs) in enumerate(class_pages):
        expected = {
            _link(_code(i)) for i in range(page_number * 4, min(len(NAMES), page_number * 4 + 4))
        }
        assert set(qrs) == expected


def test_slip_explains_the_steps_in_french_with_the_expiry_date(
    class_pages: list[tuple[list[str], str, list[str]]],
) -> None:
    _, text, _ = class_pages[0]
    assert "Classe MS-GS – École maternelle Les Coquelicots" in text
    assert "scannez ce code QR avec l’appareil photo : Telegram s’ouvre" in text
    assert "Appuyez sur « Démarrer » : votre famille est inscrite pour la classe de Zoé." in text
    assert "Écrivez /aide pour choisir quand les recevoir." in text
    assert text.count("Valable jusqu’au 24 décembre 2026") == 4
    assert f"Ouvrez une discussion privée avec {MATRIX_BOT} et collez-y le code" in text


def test_without_matrix_hint_no_matrix_paragraph() -> None:
    [(_, text, _)] = _pages(render_slips_pdf(_class_slips()[:2]))
    assert "Matrix" not in text
    assert "Maël" in text


def test_without_link_the_qr_holds_the_bare_code_and_steps_go_through_matrix() -> None:
    slip = Slip("Anaïs", "PS", "École Jules Ferry", _code(3), None, None)
    [(lines, text, qrs)] = _pages(render_slips_pdf([slip], matrix_hint=MATRIX_BOT))
    assert qrs == [_code(3)]
    assert _code(3) in lines
    assert f"démarrez une discussion privée avec {MATRIX_BOT}." in text
    assert "Collez-y le code ci-dessus" in text
    assert "Écrivez !aide" in text
    assert "Telegram" not in text
    assert "Valable" not in text  # no expiry given


def test_longest_code_fits_on_one_line_and_letters_outside_latin_lose_only_their_accent() -> None:
    code = "A1b2C3d4_-" * 6 + "Zz9_"  # 64 characters
    slip = Slip("Ștefan", "GS", "École", code, _link(code), datetime(2027, 3, 1))
    [(lines, text, qrs)] = _pages(render_slips_pdf([slip]))
    assert code in lines
    assert qrs == [_link(code)]
    assert "Stefan" in text
    assert "Valable jusqu’au 1er mars 2027" in text


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 12, 24), "24 décembre 2026"),
        (datetime(2027, 2, 1), "1er février 2027"),
        (datetime(2027, 8, 15), "15 août 2027"),
    ],
)
def test_french_date(moment: datetime, expected: str) -> None:
    assert french_date(moment) == expected


@pytest.mark.parametrize(
    "code", ["short", "x" * 65, "espace dans le code__", "accentué_0123456789ab"]
)
def test_a_code_that_cannot_be_a_deep_link_is_refused(code: str) -> None:
    with pytest.raises(ValueError):
        Slip("Zoé", "PS", "École", code, None, None)


def test_no_slips_is_refused() -> None:
    with pytest.raises(ValueError):
        render_slips_pdf([])


def test_with_web_pages_the_qr_opens_the_invitation_page() -> None:
    code = _code(7)
    web = f"https://voix.example.org/i/{code}"
    slip = Slip("Inès", "MS-GS", "École", code, web, datetime(2027, 3, 1), web=True)
    ((lines, text, qrs),) = _pages(render_slips_pdf([slip], matrix_hint=MATRIX_BOT))
    assert qrs == [web]
    assert code in lines
    assert "une page de l’école s’ouvre" in text
    assert "simplement une page web privée pour votre famille" in text
    assert "Telegram s’ouvre" not in text and MATRIX_BOT not in text


def test_a_code_ending_in_a_hyphen_is_printed_whole() -> None:
    # Codes are URL-safe base64: "-" and "_" may end one; a reader must not
    # take the hyphen for a word cut.
    code = "Awi3EeiH5C62ZWz92W3CgC3RKjb76bR-"
    slip = replace(_class_slips()[0], code=code, link=_link(code))
    ((lines, _, qrs),) = _pages(render_slips_pdf([slip]))
    assert code in lines
    assert qrs == [_link(code)]

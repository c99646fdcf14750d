"""Slips in French and a family's language, read back from the PDF: Arabic
shaped and laid out right to left, Turkish letters printed as they are."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp

from bot.slips import Slip, render_slips_pdf

PARIS = ZoneInfo("Europe/Paris")
PAGE_W_PT = 595.28  # A4 in points


def _slips(names: list[str]) -> list[Slip]:
    return [
        Slip(
            child_first_name=name,
            class_name="MS-GS",
            school_name="École du Lac",
            code=f"Kx7_{i:02d}-aQ9mZpL3vT8wR2nB",
            link=f"https://t.me/petitesvoixbot?start=Kx7_{i:02d}-aQ9mZpL3vT8wR2nB",
            expires_at=datetime(2026, 12, 24, 18, 0, tzinfo=PARIS),
        )
        for i, name in enumerate(names)
    ]


def _line_boxes(page: pdfium.PdfPage) -> list[tuple[str, float, float]]:
    """Each text line of the page with its left and right edges (points)."""
    textpage = page.get_textpage()
    lines: list[tuple[str, float, float]] = []
    for i in range(textpage.count_rects()):
        left, _bottom, right, _top = textpage.get_rect(i)
        text = textpage.get_text_bounded(left, _bottom, right, _top)
        lines.append((" ".join(text.split()), left, right))
    return lines


@pytest.fixture(scope="module")
def arabic_pdf() -> bytes:
    return render_slips_pdf(_slips(["Lina", "Yanis", "Aya"]), language="ar")


def test_each_slip_is_in_french_and_in_arabic_two_per_page(arabic_pdf: bytes) -> None:
    doc = pdfium.PdfDocument(arabic_pdf)
    assert len(doc) == 2  # three slips, two per page
    text = doc[0].get_textpage().get_text_range()
    # The French slip, as ever, and the Arabic one in logical order.
    assert "Invitation pour les parents de" in text
    assert "dans cette discussion. Écrivez /aide pour choisir" in " ".join(text.split())
    assert "دعوة لأولياء أمر" in text
    assert "على هاتفك، امسح رمز QR هذا بالكاميرا" in text
    assert "صالحة حتى 24 ديسمبر 2026" in text
    # The teacher's words (names, class) stay as written in both halves.
    assert text.count("Lina") >= 3 and text.count("Yanis") >= 3
    image = doc[0].render(scale=150 / 72).to_pil()
    qrs = {r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)}
    assert len(qrs) == 2 and all(q.startswith("https://t.me/petitesvoixbot?start=") for q in qrs)
    doc.close()


def test_the_arabic_half_is_right_aligned_with_its_fonts_embedded(arabic_pdf: bytes) -> None:
    assert b"NotoNaskhArabic" in arabic_pdf and b"/FontFile2" in arabic_pdf
    doc = pdfium.PdfDocument(arabic_pdf)
    boxes = _line_boxes(doc[0])
    steps = [b for b in boxes if "على هاتفك" in b[0] or "تصل تسجيلات القسم" in b[0]]
    french = [b for b in boxes if b[0].startswith("Sur votre téléphone, scannez")]
    assert steps and french
    half = PAGE_W_PT / 2
    # Page margin, the step number's column, the cell's own padding (1 mm).
    inset = (7 + 4.5 + 1) / 25.4 * 72
    # Right to left: each Arabic step ends at the right edge of the right half...
    for _text, left, right in steps:
        assert left > half and right == pytest.approx(PAGE_W_PT - inset, abs=1.5)
    # ...while the French step starts at the left edge of the left half.
    assert french[0][1] == pytest.approx(inset, abs=1.5)
    doc.close()


def test_the_arabic_is_shaped_not_isolated_letters() -> None:
    """HarfBuzz joins the letters: the shaped word is narrower than its
    letters set one by one in their isolated forms."""
    word = "تسجيلات"
    joined = render_slips_pdf(_slips([word]), language="ar")
    doc = pdfium.PdfDocument(joined)
    page = doc[0]
    textpage = page.get_textpage()
    found = textpage.search(word)
    assert found.get_next() is not None  # the name reads back in logical order
    doc.close()
    from fpdf import FPDF

    from bot.slips import _FONTS

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("naskh", "", str(_FONTS / "NotoNaskhArabic-Regular.ttf"))
    pdf.set_font("naskh", size=18)
    isolated = sum(pdf.get_string_width(letter) for letter in word)
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab")
    assert pdf.get_string_width(word) < isolated * 0.95


def test_turkish_letters_are_printed_as_they_are() -> None:
    pdf = render_slips_pdf(_slips(["Çağrı", "Işıl"]), language="tr")
    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_range()
    assert "Sınıfın kayıtları sonra bu konuşmaya gelir." in " ".join(text.split())
    assert "Çağrı" in text and "Işıl" in text  # the Turkish half keeps every letter
    assert "Son geçerlilik tarihi: 24 Aralık 2026" in text
    doc.close()


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language"):
        render_slips_pdf(_slips(["Lina"]), language="de")

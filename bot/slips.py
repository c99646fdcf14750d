"""Printable invitation slips for the families (a PDF, four A6 slips per A4 page).

Each slip goes into a child's cahier de liaison: the child's first name, the
class, a QR code of the invitation link (or of the bare code when the service
has no link), the code on a line of its own, the steps for the parents and
the expiry date.

The French text uses the PDF core fonts (Helvetica, Courier) in the
Windows-1252 encoding: every reader has them, nothing is embedded, and
Windows-1252 holds all of French, typography included (é è ç œ ’ « » …). The
rare letter outside it, in a child's or a school's name, loses its accent
instead of turning into a wrong glyph (``Ștefan`` prints as ``Stefan``).

With a family language (``language="ar"``), each slip is a half page: the
French slip on the left, the same slip in that language on the right, in
the Noto fonts of ``bot/fonts`` (embedded; Arabic shaped by HarfBuzz and
laid out right to left).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import qrcode
import qrcode.constants
from babel.dates import format_date
from fpdf import FPDF

from bot.i18n import SOURCE, _, is_rtl, language, speaking, supported

CODE_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")

_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

# Page geometry, in millimetres: A4 portrait cut into 2 x 2 A6 slips.
_PAGE_W, _PAGE_H = 210.0, 297.0
_COLS, _ROWS = 2, 2
_SLIP_W, _SLIP_H = _PAGE_W / _COLS, _PAGE_H / _ROWS
_MARGIN = 7.0
_QR_SIDE = 46.0  # the printed square, quiet zone included
_QR_BORDER = 4  # modules of quiet zone, as the QR standard asks
_GREY = (110, 110, 110)
_TEXT_PT, _TEXT_LINE = 9.0, 4.0  # the steps for the parents

SLIPS_PER_PAGE = _COLS * _ROWS
_FONTS = Path(__file__).parent / "fonts"


@dataclass(frozen=True)
class _Face:
    """How one half of a slip is written: its fonts and its direction."""

    family: str
    printable: Callable[[str], str]
    rtl: bool = False

    @property
    def align(self) -> str:
        return "R" if self.rtl else "L"


@dataclass(frozen=True)
class Slip:
    child_first_name: str
    class_name: str
    school_name: str
    code: str  # invitation code, 20-64 chars [A-Za-z0-9_-]
    link: str | None  # https://t.me/bot?start=CODE; None: the QR holds the bare code
    expires_at: datetime | None
    # True: ``link`` is the service's invitation page ({public_url}/i/CODE),
    # where the family chooses Telegram, Element or only a web page.
    web: bool = False

    def __post_init__(self) -> None:
        if not CODE_RE.fullmatch(self.code):
            raise ValueError("invitation code must be 20-64 characters of [A-Za-z0-9_-]")


def render_slips_pdf(
    slips: Sequence[Slip],
    *,
    matrix_hint: str | None = None,
    telegram_missing: bool = False,
    language: str | None = None,
) -> bytes:
    """The slips as one PDF, in the given order, four per A4 page.

    ``matrix_hint`` is the Matrix address of the bot (``@petitesvoix:example.org``):
    when given, each slip also tells how to paste the code in a direct chat
    with it. ``telegram_missing``: the service has Telegram but its link could
    not be made (the bot's name unknown): a slip without a link says so
    instead of sending the family to a platform the service may not have.
    ``language``: one of the other five languages prints each slip twice
    side by side, in French and in that language (two slips per page).
    Raises ``ValueError`` for an empty sequence or an unknown language.
    """
    if not slips:
        raise ValueError("no slips to print")
    second = supported(language) if language else None
    if language and second is None:
        raise ValueError(f"unknown language: {language}")
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = "cp1252"
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(_pdf_text("Invitations des familles"))
    french = _Face("helvetica", _pdf_text)
    other = _add_fonts(pdf, second) if second and second != SOURCE else None
    per_page = _ROWS if other else SLIPS_PER_PAGE
    for index, slip in enumerate(slips):
        position = index % per_page
        if position == 0:
            pdf.add_page()
            _draw_cut_lines(pdf, fold=other is not None)
        args = (matrix_hint, telegram_missing)
        if other is not None and second is not None:
            y0 = position * _SLIP_H
            with speaking(SOURCE):
                _draw_slip(pdf, slip, 0, y0, *args, french)
            with speaking(second), _shaping(pdf, other):
                _draw_slip(pdf, slip, _SLIP_W, y0, *args, other)
            continue
        col, row = position % _COLS, position // _COLS
        with speaking(SOURCE):
            _draw_slip(pdf, slip, col * _SLIP_W, row * _SLIP_H, *args, french)
    return bytes(pdf.output())


def _add_fonts(pdf: FPDF, lang: str) -> _Face:
    """The embedded Noto fonts; Latin as the fallback of Arabic for codes and commands."""
    for style, name in (("", "Regular"), ("B", "Bold"), ("I", "Regular")):
        pdf.add_font("pvsans", style, str(_FONTS / f"NotoSans-{name}.ttf"))
    if not is_rtl(lang):
        return _Face("pvsans", _unicode_text)
    for style in ("", "B", "I"):
        pdf.add_font("pvarabic", style, str(_FONTS / "NotoNaskhArabic-Regular.ttf"))
    pdf.set_fallback_fonts(["pvsans"], exact_match=False)
    return _Face("pvarabic", _unicode_text, rtl=True)


@contextmanager
def _shaping(pdf: FPDF, face: _Face) -> Iterator[None]:
    """HarfBuzz shapes (and, right to left, orders) the half in ``face``."""
    if face.rtl:
        pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="ar")
    else:
        pdf.set_text_shaping(use_shaping_engine=True)
    try:
        yield
    finally:
        pdf.set_text_shaping(False)


def _left_to_right(text: str) -> str:
    """An address inside right-to-left text keeps its ``@`` in front (marks
    U+200E around it, so the bidi algorithm sees it as left to right)."""
    return f"\u200e{text}\u200e" if is_rtl() else text


def _unicode_text(text: str) -> str:
    return text.replace("\u202f", "\u00a0").replace("\u2009", " ")


def french_date(moment: datetime) -> str:
    """``24 décembre 2026``, ``1er mars 2027`` (the date in ``moment``'s own zone)."""
    day = "1er" if moment.day == 1 else str(moment.day)
    return f"{day} {_MONTHS[moment.month - 1]} {moment.year}"


def slip_date(moment: datetime) -> str:
    """The expiry date in the language being printed (Babel's long form)."""
    if language() == SOURCE:
        return french_date(moment)
    return format_date(moment.date(), "long", locale=language())


def instructions(slip: Slip, matrix_hint: str | None, telegram_missing: bool = False) -> list[str]:
    """The three numbered steps printed for the parents."""
    name = slip.child_first_name
    if slip.web:
        return [
            _(
                "Sur votre téléphone, scannez ce code QR avec l’appareil photo\u00a0: "
                "une page de l’école s’ouvre."
            ),
            _(
                "Choisissez comment écouter\u00a0: Telegram, Element, ou simplement une page "
                "web privée pour votre famille, sans application."
            ),
            _("Les enregistrements de la classe arrivent ensuite là où vous l’avez choisi."),
        ]
    arrive = _(
        "Les enregistrements de la classe arrivent ensuite dans cette discussion. "
        "Écrivez {p}aide pour choisir quand les recevoir."
    )
    if slip.link is not None:
        return [
            _(
                "Sur votre téléphone, scannez ce code QR avec l’appareil photo\u00a0: "
                "Telegram s’ouvre (installez-le d’abord si besoin)."
            ),
            _(
                "Appuyez sur «\u00a0Démarrer\u00a0»\u00a0: votre famille est inscrite "
                "pour la classe de {name}."
            ).format(name=name),
            arrive.format(p="/"),
        ]
    if telegram_missing and not matrix_hint:
        return [
            _(
                "Le lien Telegram du robot de la classe manque sur cette fiche (son nom n’a pas "
                "pu être imprimé)\u00a0: demandez-le à l’école."
            ),
            _(
                "Dans Telegram, ouvrez la discussion avec ce robot et envoyez-lui /start suivi "
                "du code ci-dessus\u00a0: votre famille est inscrite pour la classe de {name}."
            ).format(name=name),
            arrive.format(p="/"),
        ]
    if matrix_hint:
        where = _(
            "Sur votre téléphone, ouvrez Element (Matrix) et démarrez une discussion privée "
            "avec {address}."
        ).format(address=_left_to_right(matrix_hint))
    else:
        where = _(
            "Sur votre téléphone, ouvrez Element (Matrix) et démarrez une discussion privée "
            "avec le bot de la classe."
        )
    return [
        where,
        _(
            "Collez-y le code ci-dessus (le code QR le contient aussi)\u00a0: "
            "votre famille est inscrite pour la classe de {name}."
        ).format(name=name),
        arrive.format(p="!"),
    ]


def matrix_note(slip: Slip, matrix_hint: str | None, telegram_missing: bool = False) -> str | None:
    """The other way in, printed under the steps: Matrix under Telegram's,
    or under Matrix's what is missing for Telegram."""
    if slip.link is None and matrix_hint and telegram_missing:
        return _(
            "Vous préférez Telegram\u00a0? Le lien du robot manque sur cette fiche\u00a0: "
            "demandez-le à l’école."
        )
    if slip.link is None or slip.web or not matrix_hint:
        return None
    return _(
        "Vous préférez Matrix (Element)\u00a0? Ouvrez une discussion privée avec {address} "
        "et collez-y le code ci-dessus."
    ).format(address=_left_to_right(matrix_hint))


# --------------------------------------------------------------------------


def _pdf_text(text: str) -> str:
    """``text`` made printable in Windows-1252: odd spaces unified, other letters unaccented."""
    text = text.replace("\u202f", "\u00a0").replace("\u2009", " ")
    out: list[str] = []
    for char in text:
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char)
            base = "".join(c for c in base if not unicodedata.combining(c))
            char = base if base and _encodable(base) else _FALLBACK.get(char, "?")
        out.append(char)
    return "".join(out)


_FALLBACK = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ø": "O", "ø": "o", "ħ": "h"}


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _draw_cut_lines(pdf: FPDF, fold: bool = False) -> None:
    """Dashed cuts between the slips; ``fold``: the two halves of one slip
    stay together, a dotted fold between them."""
    pdf.set_draw_color(*_GREY)
    pdf.set_line_width(0.2)
    with pdf.local_context():
        pdf.set_dash_pattern(dash=0.4 if fold else 2, gap=1.5)
        for col in range(1, _COLS):
            pdf.line(col * _SLIP_W, 0, col * _SLIP_W, _PAGE_H)
        pdf.set_dash_pattern(dash=2, gap=1.5)
        for row in range(1, _ROWS):
            pdf.line(0, row * _SLIP_H, _PAGE_W, row * _SLIP_H)
    # Scissors (ZapfDingbats "a2") at the left end of each horizontal cut.
    pdf.set_font("zapfdingbats", size=10)
    pdf.set_text_color(*_GREY)
    for row in range(1, _ROWS):
        pdf.text(2, row * _SLIP_H + 1.3, "\x22")


def _draw_slip(
    pdf: FPDF,
    slip: Slip,
    x0: float,
    y0: float,
    matrix_hint: str | None,
    telegram_missing: bool,
    face: _Face,
) -> None:
    left, width = x0 + _MARGIN, _SLIP_W - 2 * _MARGIN
    text = face.printable
    pdf.set_text_color(0, 0, 0)

    pdf.set_xy(left, y0 + _MARGIN)
    pdf.set_font(face.family, size=8)
    pdf.set_text_color(*_GREY)
    pdf.cell(width, 4, text(_("Invitation pour les parents de")), align="C")
    pdf.set_text_color(0, 0, 0)

    pdf.set_xy(left, y0 + _MARGIN + 4)
    pdf.set_font(face.family, style="B", size=18)
    pdf.multi_cell(width, 8, text(slip.child_first_name), align="C", max_line_height=8)

    pdf.set_x(left)
    pdf.set_font(face.family, size=9.5)
    where = _("Classe {klass} – {school}").format(klass=slip.class_name, school=slip.school_name)
    pdf.multi_cell(width, 4.3, text(where), align="C")

    qr_top = pdf.get_y() + 0.5
    qr_left = x0 + (_SLIP_W - _QR_SIDE) / 2
    if slip.link is None and telegram_missing and not matrix_hint:
        # A bare code in a QR helps nobody on Telegram: say what is missing.
        _draw_no_qr(pdf, qr_left, qr_top, _QR_SIDE, face)
    else:
        _draw_qr(pdf, slip.link or slip.code, qr_left, qr_top, _QR_SIDE)

    pdf.set_xy(left, qr_top + _QR_SIDE)
    pdf.set_font(face.family, size=8)
    pdf.set_text_color(*_GREY)
    pdf.cell(width, 3.5, text(_("Code d’invitation\u00a0:")), align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(left, qr_top + _QR_SIDE + 3.8)
    with _unshaped(pdf):  # the code is plain ASCII, left to right, in Courier
        pdf.set_font("courier", style="B", size=_code_font_size(pdf, slip.code, width))
        pdf.cell(width, 5, slip.code, align="C")

    pdf.set_xy(left, qr_top + _QR_SIDE + 10.5)
    for number, step in enumerate(instructions(slip, matrix_hint, telegram_missing), start=1):
        _draw_step(pdf, number, step, left, width, face)
    note = matrix_note(slip, matrix_hint, telegram_missing)
    if note is not None:
        pdf.set_xy(left, pdf.get_y() + 1.2)
        pdf.set_font(face.family, style="I", size=_TEXT_PT)
        pdf.multi_cell(width, _TEXT_LINE, text(note), align=face.align)

    if slip.expires_at is not None:
        # At the foot of the slip, or under the text when a long name pushed it down.
        pdf.set_xy(left, max(y0 + _SLIP_H - _MARGIN - 4.5, pdf.get_y() + 1.0))
        pdf.set_font(face.family, style="B", size=9.5)
        until = _("Valable jusqu’au {date}").format(date=slip_date(slip.expires_at))
        pdf.cell(width, 4.5, text(until), align=face.align)


def _draw_step(pdf: FPDF, number: int, text: str, left: float, width: float, face: _Face) -> None:
    """A numbered step; right to left, the number stands on the right."""
    pdf.set_font(face.family, style="B", size=_TEXT_PT)
    top = pdf.get_y() + 0.6
    number_x = left + width - 4.5 if face.rtl else left
    text_x = left if face.rtl else left + 4.5
    pdf.set_xy(number_x, top)
    pdf.cell(4.5, _TEXT_LINE, f"{number}.", align="R" if face.rtl else "L")
    pdf.set_font(face.family, size=_TEXT_PT)
    pdf.set_xy(text_x, top)
    pdf.multi_cell(width - 4.5, _TEXT_LINE, face.printable(text), align=face.align)


@contextmanager
def _unshaped(pdf: FPDF) -> Iterator[None]:
    shaping = pdf.text_shaping
    pdf.set_text_shaping(False)
    try:
        yield
    finally:
        if shaping:
            pdf.text_shaping = shaping


def _code_font_size(pdf: FPDF, code: str, width: float) -> float:
    """Courier size that keeps the whole code on one line (12 pt at most)."""
    pdf.set_font("courier", style="B", size=12)
    return min(12.0, 12.0 * width / pdf.get_string_width(code))


def _draw_no_qr(pdf: FPDF, x: float, y: float, side: float, face: _Face) -> None:
    pdf.set_draw_color(*_GREY)
    pdf.set_line_width(0.3)
    inset = side * 0.12
    pdf.rect(x + inset, y + inset, side - 2 * inset, side - 2 * inset)
    pdf.set_text_color(*_GREY)
    pdf.set_font(face.family, size=8)
    pdf.set_xy(x + inset + 2, y + side / 2 - 6)
    pdf.multi_cell(
        side - 2 * inset - 4,
        4,
        face.printable(_("Pas de code QR\u00a0: le lien du robot manque")),
        align="C",
    )
    pdf.set_text_color(0, 0, 0)


def _draw_qr(pdf: FPDF, data: str, x: float, y: float, side: float) -> None:
    """``data`` as a QR code of vector squares: sharp at any printer resolution."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        border=_QR_BORDER,
    )
    qr.add_data(data)
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()
    module = side / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for r, cells in enumerate(matrix):
        c = 0
        while c < len(cells):
            if not cells[c]:
                c += 1
                continue
            start = c
            while c < len(cells) and cells[c]:
                c += 1
            pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")

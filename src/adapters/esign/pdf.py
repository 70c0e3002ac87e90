"""The contract's text as a plain PDF for the e-signature provider, written by hand: A4 pages of wrapped lines in
Adobe's standard Chinese font STSong-Light (UniGB-UTF16-H, not embedded, as every PDF reader and signing service
carries it), so Chinese and Latin text both show without a PDF library or a font file. The same text always gives
the same bytes (no dates, no ids), so its digest can be checked."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

PAGE_WIDTH, PAGE_HEIGHT = 595, 842
MARGIN = 56
FONT_SIZE = 11
LEADING = 16
LINE_EMS = (PAGE_WIDTH - 2 * MARGIN) / FONT_SIZE
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING
FONT = (
    b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H /DescendantFonts [4 0 R] >>",
    b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light /CIDSystemInfo << /Registry (Adobe) "
    b"/Ordering (GB1) /Supplement 4 >> /FontDescriptor 5 0 R /DW 1000 /W [1 95 500] >>",
    b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 "
    b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
)
"""Objects 3–5: the composite font, its CID font (Latin half a width, the rest a full one) and its descriptor."""


@dataclass(frozen=True)
class ContractPdf:
    data: bytes
    pages: int


def text_pdf(text: str) -> ContractPdf:
    """The text, each paragraph wrapped to the page's width, on as many A4 pages as it takes."""
    lines = [line for paragraph in text.splitlines() for line in _wrap(paragraph)] or [""]
    pages = [lines[start : start + LINES_PER_PAGE] for start in range(0, len(lines), LINES_PER_PAGE)]
    first_page = 6
    kids = " ".join(f"{first_page + 2 * index} 0 R" for index in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode()]
    objects.extend(FONT)
    for index, page_lines in enumerate(pages):
        content = _content(page_lines)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {first_page + 2 * index + 1} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    return ContractPdf(_document(objects), len(pages))


def _document(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _content(lines: list[str]) -> bytes:
    shown = b" T* ".join(b"<" + line.encode("utf-16-be").hex().upper().encode() + b"> Tj" for line in lines)
    top = PAGE_HEIGHT - MARGIN - FONT_SIZE
    return b"BT /F1 %d Tf %d TL %d %d Td " % (FONT_SIZE, LEADING, MARGIN, top) + shown + b" ET"


def _wrap(paragraph: str) -> list[str]:
    """Lines no wider than the page: Latin letters take half an em, Chinese a whole one; words kept whole when they
    fit on a line of their own."""
    lines: list[str] = []
    line, width = "", 0.0
    for word in _words(paragraph):
        size = sum(_ems(character) for character in word)
        if line and width + size > LINE_EMS:
            lines.append(line.rstrip())
            line, width = "", 0.0
            word = word.lstrip()
            size = sum(_ems(character) for character in word)
        while size > LINE_EMS:
            cut, used = _fitting(word)
            lines.append(word[:cut])
            word, size = word[cut:], size - used
        line, width = line + word, width + size
    lines.append(line.rstrip())
    return lines


def _words(paragraph: str) -> list[str]:
    """Runs of Latin text with the space before them, or one wide character alone (Chinese breaks anywhere)."""
    words: list[str] = []
    for character in paragraph:
        if _ems(character) == 1 or not words or character == " " or _ems(words[-1][-1]) == 1:
            words.append(character)
        else:
            words[-1] += character
    return words


def _fitting(word: str) -> tuple[int, float]:
    used = 0.0
    for index, character in enumerate(word):
        if used + _ems(character) > LINE_EMS:
            return max(index, 1), used
        used += _ems(character)
    return len(word), used


def _ems(character: str) -> float:
    return 1.0 if unicodedata.east_asian_width(character) in ("W", "F", "A") else 0.5

"""Make untrusted evidence text safe to show in a spreadsheet cell or a PDF page.

Every string in a report comes, in the end, from a system we do not control: a change
request's description, a user name, a deployment comment. The helpers here never drop
a value. They make the dangerous parts visible instead:

- control characters (which openpyxl refuses and which hide text), bidirectional
  override characters (which can make text read differently from what it is) and
  lone surrogates (invalid Unicode from a hostile JSON escape) are shown as their
  code point: ``\x07`` becomes ``⟨U+0007⟩``, U+202E becomes ``⟨U+202E⟩``. The code
  point is used rather than a "control picture" such as ``␇`` because the report
  fonts lack those glyphs. Ordinary right-to-left text, emoji and combining marks are
  left alone;
- a spreadsheet value that a spreadsheet would run as a formula gets a leading ``'``;
- a value longer than the room it has is cut with a marker saying how long it was and
  where the full value is.
"""

from __future__ import annotations

import re

EXCEL_CELL_LIMIT = 32_767
PDF_TEXT_LIMIT = 1_000
PDF_SHORT_LIMIT = 300

FULL_VALUE_IN = "results.json"

# What a spreadsheet may treat as the start of a formula or a command (OWASP's list,
# plus the full-width forms some spreadsheet locales also accept).
FORMULA_PREFIXES = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)

# C0 and C1 controls (C1 holds NEL and the 8-bit CSI some terminals obey), the line
# and paragraph separators (str.splitlines() breaks on them), bidi controls and
# lone surrogates.
_HIDDEN_AND_LAYOUT = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e"
    r"\u2066-\u2069\ud800-\udfff]"
)
_HIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c"
    r"\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def visible_controls(text: str, *, keep_layout: bool = True) -> str:
    """Show control, bidi-override and surrogate characters as ``⟨U+XXXX⟩``.

    Tab, line feed and carriage return are kept unless ``keep_layout`` is false.
    """
    pattern = _HIDDEN if keep_layout else _HIDDEN_AND_LAYOUT
    return pattern.sub(_code_point_label, text)


def shorten(text: str, limit: int, *, full_value_in: str = FULL_VALUE_IN) -> str:
    """Cut text to at most ``limit`` characters, ending with a visible marker."""
    if len(text) <= limit:
        return text
    marker = f"… [truncated: {len(text):,} characters; full value in {full_value_in}]"
    keep = max(limit - len(marker), 0)
    return text[:keep] + marker


def neutralise_formula(text: str) -> str:
    """Prefix a value a spreadsheet would run as a formula, so it stays plain text."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def cell_text(value: object) -> str:
    """Return a string that is safe to write as a text cell in an XLSX sheet.

    Tab and line feed are kept. A carriage return is kept too, but XML readers
    (Excel, openpyxl) turn it into a line feed when the file is opened.
    """
    text = visible_controls(str(value))
    text = neutralise_formula(text)
    return _shorten_utf16(text, EXCEL_CELL_LIMIT)


def _shorten_utf16(text: str, limit: int) -> str:
    """Shorten to ``limit`` UTF-16 code units: Excel counts a cell's length in those.

    A character outside the Basic Multilingual Plane (most emoji) takes two units,
    so a limit in characters could still overflow the cell.
    """
    if len(text) <= limit // 2 or _utf16_units(text) <= limit:
        return text
    marker = f"… [truncated: {len(text):,} characters; full value in {FULL_VALUE_IN}]"
    budget = limit - _utf16_units(marker)
    kept, used = [], 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            break
        kept.append(char)
    return "".join(kept) + marker


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def pdf_text(value: object, limit: int = PDF_TEXT_LIMIT) -> str:
    """Return a string ready for the PDF template (which still escapes the markup)."""
    return shorten(visible_controls(str(value)), limit)


def _code_point_label(match: re.Match[str]) -> str:
    return f"⟨U+{ord(match.group()):04X}⟩"

"""Character normalisation: full/half-width forms, punctuation in Chinese text, whitespace."""

from __future__ import annotations

import re

from bot.facts.spans import Tracked

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Full-width punctuation and quotes that count as "Chinese context" around ASCII marks.
CJK_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】「」『』…—·"
_CJK_OR_PUNCT = f"[{CJK}{CJK_PUNCT}]"

_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff05\uff0b\uff0e\uff0f]")
_IDEOGRAPHIC_SPACE = re.compile("[\u3000\u00a0\u2002-\u200b\ufeff]")
_ASCII_MARKS = {",": "，", "?": "？", "!": "！", ";": "；", ":": "："}
# An ASCII mark with Chinese on at least one side; "13:00" and "1,000" stay ASCII.
_MARK = re.compile(rf"(?<={_CJK_OR_PUNCT})\s*([,?!;:])|([,?!;:])(?=\s*{_CJK_OR_PUNCT})")
_PARENS = re.compile(r"\(([^()]*)\)")
_HAS_CJK = re.compile(f"[{CJK}]")
# Whitespace is only meaningful between two Latin/digit runs ("SENSOR CHINA").
_SPACE = re.compile(r"\s+")
_REPEATED = re.compile(r"([，。；：、！？])\1+")


def fold_width(text: Tracked) -> Tracked:
    """Full-width digits/letters become ASCII; odd spaces become plain spaces."""
    text = text.sub(_FULLWIDTH_ALNUM, lambda m: chr(ord(m.group()) - 0xFEE0))
    return text.sub(_IDEOGRAPHIC_SPACE, " ")


def cjk_punctuation(text: Tracked) -> Tracked:
    """ASCII , ? ! ; : and ( ) become full-width when they sit in Chinese text."""
    text = text.sub(_MARK, lambda m: _ASCII_MARKS[m.group(1) or m.group(2)])

    def paren(match: re.Match[str]) -> str:
        before = match.string[match.start() - 1] if match.start() else ""
        inner = match.group(1)
        if _HAS_CJK.search(inner) or _HAS_CJK.match(before or " "):
            return f"（{inner}）"
        return match.group()

    return text.sub(_PARENS, paren)


def squeeze_space(text: Tracked) -> Tracked:
    """Drop whitespace except a single space between two Latin/digit characters."""

    def keep(match: re.Match[str]) -> str:
        s = match.string
        before = s[match.start() - 1] if match.start() else ""
        after = s[match.end()] if match.end() < len(s) else ""
        if before.isascii() and before.isalnum() and after.isascii() and after.isalnum():
            return " "
        return ""

    return text.sub(_SPACE, keep)


def dedupe_punctuation(text: Tracked) -> Tracked:
    """Collapse doubled marks such as "，，"."""
    return text.sub(_REPEATED, r"\1")


def normalize(text: Tracked) -> Tracked:
    """All character-level normalisation, in a safe order."""
    text = fold_width(text)
    text = cjk_punctuation(text)
    text = squeeze_space(text)
    return dedupe_punctuation(text).strip()


def normalize_str(text: str) -> str:
    """:func:`normalize` for a plain string."""
    return normalize(Tracked.of(text)).text


def has_cjk(text: str) -> bool:
    """Whether ``text`` contains a CJK ideograph."""
    return bool(_HAS_CJK.search(text))

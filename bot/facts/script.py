"""Detect and convert between Simplified (hans) and Traditional (hant) Chinese with OpenCC."""

from __future__ import annotations

from functools import cache

import opencc

from bot.facts.models import Script


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC t2s); Simplified text passes through unchanged."""
    return str(_converter("t2s").convert(text)) if text else text


def to_traditional(text: str) -> str:
    """Simplified -> Traditional with plain s2t.

    s2twp/s2hk would swap in Taiwan/Hong Kong vocabulary, which mangles mainland
    place and programme names, so only character conversion is used.
    """
    return str(_converter("s2t").convert(text)) if text else text


def detect_script(text: str) -> Script:
    """Guess whether ``text`` is written in Traditional or Simplified characters.

    Counts characters that only exist in one script; ties (including text with
    no script-specific characters) count as Simplified.
    """
    simplified = to_simplified(text)
    traditional = to_traditional(text)
    trad_only = sum(1 for a, b in zip(text, simplified, strict=False) if a != b)
    simp_only = sum(1 for a, b in zip(text, traditional, strict=False) if a != b)
    return "hant" if trad_only > simp_only else "hans"

"""Detect and convert between Simplified (hans) and Traditional (hant) Chinese with OpenCC."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import opencc

from bot.facts.datafiles import SCRIPT_PATH, load_yaml
from bot.facts.errors import DataFileError
from bot.facts.models import Script


@cache
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional -> Simplified (OpenCC t2s); Simplified text passes through unchanged."""
    return str(_converter("t2s").convert(text)) if text else text


@cache
def s2t_fixes(path: Path = SCRIPT_PATH) -> tuple[tuple[str, str], ...]:
    """(Simplified, Traditional) pairs from data/script.yml that override OpenCC's s2t."""
    data = load_yaml(path)
    entries = data.get("s2t_fixes") or []
    if not isinstance(entries, list):
        raise DataFileError("'s2t_fixes' must be a list", path=path)
    fixes = []
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("from"), str)
            and isinstance(entry.get("to"), str)
            and entry["from"]
            and isinstance(entry.get("note"), str)
        ):
            raise DataFileError("every s2t fix needs 'from', 'to' and a 'note'", path=path)
        fixes.append((entry["from"], entry["to"]))
    return tuple(sorted(fixes, key=lambda f: len(f[0]), reverse=True))


@cache
def _fix_pattern() -> re.Pattern[str] | None:
    fixes = s2t_fixes()
    return re.compile("|".join(re.escape(f) for f, _ in fixes)) if fixes else None


def plain_s2t(text: str) -> str:
    """OpenCC's s2t without the corrections (for checking them)."""
    return str(_converter("s2t").convert(text)) if text else text


def to_traditional(text: str) -> str:
    """Simplified -> Traditional with plain s2t, corrected by data/script.yml.

    s2twp/s2hk would swap in Taiwan/Hong Kong vocabulary, which mangles mainland
    place and programme names, so only character conversion is used. OpenCC's
    phrase table still picks a few wrong forms (资金链 -> 資金鍊); each listed
    Simplified word is rendered as given and the text between is converted as usual.
    """
    if not text:
        return text
    convert = _converter("s2t").convert
    pattern = _fix_pattern()
    if pattern is None:
        return str(convert(text))
    fixed = dict(s2t_fixes())
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [str(convert(text[last : match.start()])) if match.start() > last else ""]
        out.append(fixed[match.group()])
        last = match.end()
    out.append(str(convert(text[last:])) if last < len(text) else "")
    return "".join(out)


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

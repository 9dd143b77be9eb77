"""Compose a short cited reply from search hits."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.facts.models import Answer, Fact, Hit, Script
from bot.facts.normalize import cjk_punctuation
from bot.facts.script import to_traditional
from bot.facts.spans import Tracked

MAX_FACTS = 3
# A further fact joins the answer only if it scores close to the best one.
COMPANION_RATIO = 0.75
# Facts longer than this are trimmed to the clauses that matter: from the first to
# the last clause holding a matched term or an answer (the number asked for).
MAX_SNIPPET = 90
MIN_SNIPPET = 30
# Facts are sentences: if what must be kept is most of the sentence anyway, the
# whole sentence is clearer than a fragment.
KEEP_WHOLE = 0.7
# Two facts sharing this share of character bigrams say the same thing.
DUPLICATE_OVERLAP = 0.6
_CLAUSE_END = re.compile(r"(?<=[，；：])")
_CONNECTIVE = re.compile(
    r"^(此外|同时|其中|另外|与此同时|比如|例如|总之|而且|并且|因此|所以)[，、]?"
)
_TERMINAL = "。！？"
_LEAD_IN = re.compile(
    r"^(通过|依托|围绕|按照|结合|为了|根据|基于|随着|聚焦|针对|面向|立足|对|在|以|从|为)"
)


def compose_answer(hits: Sequence[Hit], *, script: Script = "hans") -> Answer:
    """One to three facts, trimmed and de-duplicated, then one citation line per document.

    Returns an empty, falsy ``Answer("", [])`` when ``hits`` is empty: the caller
    replies "not in my sources" itself. ``script="hant"`` renders the whole reply
    in Traditional characters (OpenCC s2t).
    """
    if not hits:
        return Answer("", [])
    chosen = select(hits)
    body = "".join(snippet(hit) for hit in chosen)
    sources: list[str] = []
    citations: list[str] = []
    for hit in chosen:
        if hit.fact.doc_id not in sources:
            sources.append(hit.fact.doc_id)
            citations.append(citation(hit.fact))
    text = "\n".join([body, *citations])
    if script == "hant":
        text = to_traditional(text)
    return Answer(text, sources, [h.fact.id for h in chosen])


def select(hits: Sequence[Hit]) -> list[Hit]:
    """The best hit plus up to two close, non-duplicate companions."""
    best = hits[0]
    chosen = [best]
    for hit in hits[1:]:
        if len(chosen) == MAX_FACTS:
            break
        if hit.score < COMPANION_RATIO * best.score:
            break
        if any(is_duplicate(hit.fact.text, c.fact.text) for c in chosen):
            continue
        chosen.append(hit)
    return chosen


def is_duplicate(a: str, b: str) -> bool:
    """Whether two fact texts say essentially the same thing."""
    if a in b or b in a:
        return True
    grams_a, grams_b = _bigrams(a), _bigrams(b)
    if not grams_a or not grams_b:
        return False
    return len(grams_a & grams_b) / min(len(grams_a), len(grams_b)) >= DUPLICATE_OVERLAP


def _bigrams(text: str) -> set[str]:
    chars = re.sub(r"\W", "", text)
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def snippet(hit: Hit) -> str:
    """The fact, or for long facts the clauses that matter, as a full sentence."""
    fact = hit.fact
    text = fact.text
    if len(text) > MAX_SNIPPET:
        text = _trim(text, hit.matched, hit.answers)
    text = _CONNECTIVE.sub("", text)
    text = _balance_quotes(text)
    text = text.rstrip("，；：、")
    # End on a full stop unless the sentence already ends (possibly inside a quote).
    if not re.search(f"[{_TERMINAL}][”’）]*$", text):
        text += "。"
    if fact.note and _only_in_note(hit.matched, fact):
        text = text[:-1] + f"（{fact.note}）" + text[-1]
    return text


def _trim(text: str, matched: Sequence[str], answers: Sequence[str] = ()) -> str:
    """Keep every clause from the first to the last one that holds a matched term or an
    answer; a lead-in clause ("通过……，", "聚焦“六大破冰行动”，") keeps its main clause."""
    clauses = [c for c in _CLAUSE_END.split(text) if c]
    terms = [t for t in matched if t]
    needed = [
        i
        for i, clause in enumerate(clauses)
        if any(t in clause.lower() for t in terms) or any(a in clause for a in answers if a)
    ]
    if not needed:
        return text
    start, end = min(needed), max(needed)
    while end + 1 < len(clauses) and _LEAD_IN.match(clauses[end]):
        end += 1
    while _size(clauses, start, end) < MIN_SNIPPET:
        if end + 1 < len(clauses) and _size(clauses, start, end + 1) <= MAX_SNIPPET:
            end += 1
        elif start > 0 and _size(clauses, start - 1, end) <= MAX_SNIPPET:
            start -= 1
        else:
            break
    if _size(clauses, start, end) >= KEEP_WHOLE * len(text):
        return text
    return "".join(clauses[start : end + 1])


def _size(clauses: Sequence[str], start: int, end: int) -> int:
    return sum(len(c) for c in clauses[start : end + 1])


def _balance_quotes(text: str) -> str:
    # A trimmed clause may keep one half of a quotation; drop unmatched marks.
    for left, right in (("“", "”"), ("‘", "’"), ("《", "》"), ("（", "）")):
        depth = 0
        out = []
        for ch in text:
            if ch == left:
                depth += 1
            elif ch == right:
                if depth == 0:
                    continue
                depth -= 1
            out.append(ch)
        text = "".join(out)
        while depth > 0:
            cut = text.rfind(left)
            text = text[:cut] + text[cut + 1 :]
            depth -= 1
    return text


def _only_in_note(matched: Sequence[str], fact: Fact) -> bool:
    note = (fact.note or "").lower()
    body = fact.text.lower()
    return any(t in note and t not in body for t in matched)


def citation(fact: Fact) -> str:
    """``来源：《title》（publisher，date[，doc number]）``."""
    # Nested book-title marks become 〈〉; ASCII brackets in the catalogue title become （）.
    title = cjk_punctuation(Tracked.of(fact.title)).text.replace("《", "〈").replace("》", "〉")
    parts = [_publisher(fact.publisher), _date(fact.date)]
    if fact.doc_number:
        parts.append(fact.doc_number)
    return f"来源：《{title}》（{'，'.join(parts)}）"


def _publisher(publisher: str) -> str:
    # The catalogue marks reposts of unknown origin as "unknown (...)".
    if publisher.lower().startswith("unknown"):
        return "转载，原发布者不详"
    return publisher


def _date(date: str) -> str:
    match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", date)
    if not match:
        return date
    year, month, day = match.groups()
    out = f"{year}年"
    if month:
        out += f"{int(month)}月"
    if day:
        out += f"{int(day)}日"
    return out

"""Which region, park and topic a question is about, given the turns before it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

TOPIC_BY_INTENT = {
    "ask_talent": "talent",
    "ask_funding": "funding",
    "ask_park": "park",
    "ask_permit": "permit",
    "ask_industry": "industry",
}

# Pronouns that point back at something named earlier ("它一期的入驻率是多少").
_ANAPHORA = re.compile(r"它|其|该|这个|那个|这家|那家|这里|那里|那边")
# What is left of an elliptical follow-up ("那南湖区呢？") once entities are removed.
# "那…呢" / "那么…" / "…呢？" asks about another aspect of what was just discussed.
_CONTINUES = re.compile(r"^(那么|那)|呢[？?]*$")
MAX_ASPECT = 8
_ELLIPSIS_FILLER = re.compile(
    r"(?:那么|那|呢|吗|呀|啊|的|和|与|及|还有|又|是|请问|再|说说|看看|一下|[\s，,。.？?！!、])+"
)


@dataclass(frozen=True, slots=True)
class Context:
    """What to search for: the query text and the filters."""

    query: str
    topic: str | None
    region: str | None
    park: str | None
    industry: str | None
    question: str
    """The question with entity mentions removed, kept for the next elliptical follow-up."""


def strip_mentions(text: str, surfaces: list[str]) -> str:
    """Remove entity mentions, longest first, and tidy the spaces."""
    for surface in sorted(surfaces, key=len, reverse=True):
        text = text.replace(surface, " ")
    return re.sub(r"\s+", " ", text).strip()


def _rest(text: str, surfaces: list[str]) -> str:
    return _ELLIPSIS_FILLER.sub("", strip_mentions(text, surfaces))


def is_elliptical(text: str, surfaces: list[str]) -> bool:
    """True for follow-ups that only name a new entity, like "那南湖区呢？"."""
    return bool(surfaces) and not _rest(text, surfaces)


def asks_about_more(text: str, surfaces: list[str]) -> bool:
    """True for short follow-ups about another aspect of the same thing, like "那规模呢？"."""
    rest = _rest(text, surfaces)
    return not surfaces and bool(_CONTINUES.search(text.strip())) and 0 < len(rest) <= MAX_ASPECT


def is_follow_up(text: str, surfaces: list[str]) -> bool:
    """Either kind of elliptical follow-up (they inherit the topic as well as the slots)."""
    return is_elliptical(text, surfaces) or asks_about_more(text, surfaces)


def resolve(
    text: str,
    intent: str | None,
    entities: Mapping[str, str],
    surfaces: list[str],
    slots: Mapping[str, str | None],
) -> Context:
    """Combine this message with earlier slots; only follow-ups inherit them."""
    elliptical = is_elliptical(text, surfaces)
    aspect = asks_about_more(text, surfaces)
    anaphoric = bool(_ANAPHORA.search(text))
    follow_up = elliptical or aspect or anaphoric

    topic = TOPIC_BY_INTENT.get(intent or "")
    if (elliptical or aspect) and slots.get("topic"):
        # "那南湖区呢？" / "那规模呢？" carry no topic of their own, whatever NLU guessed.
        topic = slots.get("topic")

    def pick(name: str) -> str | None:
        if entities.get(name):
            return entities[name]
        return slots.get(name) if follow_up else None

    region, park, industry = pick("region"), pick("park"), pick("industry")
    question = strip_mentions(text, surfaces)
    if elliptical:
        base = slots.get("question") or question
    elif aspect:
        base = f"{slots.get('question') or ''} {_rest(text, surfaces)}".strip()
    else:
        base = question
    named = [v for v in (park, industry, region) if v]
    query = " ".join([*named, base]).strip()
    return Context(
        query=query, topic=topic, region=region, park=park, industry=industry, question=base
    )

"""The unanswered-question loop: log fallbacks and "not in my sources" replies, group them,
and export the groups as FAQ test cases to fill in (docs/unanswered.md)."""

from __future__ import annotations

import logging
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import yaml
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from bot.facts.script import to_simplified
from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError, entries

log = logging.getLogger(__name__)

FALLBACK = "fallback"
NOT_IN_SOURCES = "not_in_sources"

# Two questions are the same gap when their character-bigram sets have a Jaccard similarity
# of at least this. One wrong character in a 9-character question scores 0.6; 人才补贴 vs
# 租房补贴 in an otherwise equal 12-character question scores 0.57 and stays apart.
SIMILARITY_THRESHOLD = 0.6


@dataclass(frozen=True, slots=True)
class Unanswered:
    """One question the bot could not answer."""

    question: str
    ts: float  # unix time
    channel: str  # "web" | "telegram" | "wechat"
    intent: str  # Rasa's top intent, "nlu_fallback" included
    reason: str  # FALLBACK | NOT_IN_SOURCES


@dataclass(frozen=True, slots=True)
class UnansweredGroup:
    """Similar questions counted together; mappings are ordered most frequent first."""

    representative: str  # the most frequent variant (see _group for ties)
    count: int
    variants: tuple[str, ...]  # distinct texts, most frequent first
    first_ts: float
    last_ts: float
    channels: Mapping[str, int]
    intents: Mapping[str, int]
    reasons: Mapping[str, int]

    @property
    def top_intent(self) -> str:
        """The intent Rasa gave most often."""
        return next(iter(self.intents), "")


class UnansweredLog:
    """The capped `{prefix}unanswered` stream; needs a client with `decode_responses=True`."""

    def __init__(self, redis: Redis, keys: Keys, *, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._redis = redis
        self._key = keys.unanswered()
        self._max = max_entries

    async def record(self, entry: Unanswered) -> None:
        """Append one question; Redis trims the oldest beyond about `max_entries`."""
        fields: dict[FieldT, EncodableT] = {
            "question": entry.question,
            "ts": repr(entry.ts),
            "channel": entry.channel,
            "intent": entry.intent,
            "reason": entry.reason,
        }
        try:
            # Approximate trimming drops whole stream nodes (100 entries by default), so the
            # stream may hold up to about 100 entries more than max_entries, but trimming is cheap.
            await self._redis.xadd(self._key, fields, maxlen=self._max, approximate=True)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc

    async def forget(self, channel: str, questions: Collection[str]) -> int:
        """Delete the entries of these questions on `channel` (for `/forget`: entries carry no
        user id, so the user's own logged messages say which are theirs)."""
        wanted = set(questions)
        if not wanted:
            return 0
        try:
            rows = entries(await self._redis.xrange(self._key))
            doomed = [
                stream_id
                for stream_id, fields in rows
                if fields.get("channel") == channel and fields.get("question") in wanted
            ]
            if doomed:
                await self._redis.xdel(self._key, *doomed)
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return len(doomed)

    async def entries(self, *, limit: int | None = None) -> list[Unanswered]:
        """Logged questions, oldest first; with `limit`, only the newest `limit` of them."""
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        if limit == 0:
            return []
        try:
            if limit is None:
                rows = await self._redis.xrange(self._key) or []
            else:
                rows = list(reversed(await self._redis.xrevrange(self._key, count=limit) or []))
        except RedisError as exc:
            raise StateUnavailableError("Redis is unavailable") from exc
        return [entry for stream_id, fields in rows if (entry := _parse(stream_id, fields))]


def _parse(
    stream_id: object, fields: Mapping[bytes | str, bytes | str] | None
) -> Unanswered | None:
    # One hand-written or truncated entry must not hide the rest of the log.
    texts = {k: v for k, v in (fields or {}).items() if isinstance(k, str) and isinstance(v, str)}
    try:
        return Unanswered(
            question=texts["question"],
            ts=float(texts["ts"]),
            channel=texts["channel"],
            intent=texts["intent"],
            reason=texts["reason"],
        )
    except (KeyError, ValueError):
        # The id only: the fields may hold a user's words, which stay out of the logs.
        log.warning("skipping malformed unanswered entry %s", stream_id)
        return None


def normalize(question: str) -> str:
    """The comparable form: Simplified, case-folded, letters and digits only."""
    text = to_simplified(unicodedata.normalize("NFKC", question)).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two normalized questions."""
    if a == b:
        return 1.0
    grams_a, grams_b = _bigrams(a), _bigrams(b)
    if not grams_a or not grams_b:
        return 0.0
    return _jaccard(len(grams_a & grams_b), len(grams_a), len(grams_b))


def _jaccard(shared: int, size_a: int, size_b: int) -> float:
    return shared / (size_a + size_b - shared)


def _bigrams(text: str) -> frozenset[str]:
    # A one-character question has no bigram; let the character stand for itself.
    return frozenset(text[i : i + 2] for i in range(len(text) - 1)) or frozenset(text)


@dataclass(slots=True)
class _Forms:
    """The entries whose questions normalize to one form."""

    form: str
    entries: list[Unanswered]

    @property
    def last_ts(self) -> float:
        return max(e.ts for e in self.entries)


def group_similar(entries: Sequence[Unanswered]) -> list[UnansweredGroup]:
    """Group similar questions; the most frequent group first, ties by the most recent.

    Questions that normalize equally (script, case, punctuation, spaces) always share a
    group. Then, from the most frequent form down, each form joins the first group that
    holds a form at least `SIMILARITY_THRESHOLD` similar to it, or starts a new group.
    Blank questions are ignored.
    """
    by_form: dict[str, _Forms] = {}
    for entry in entries:
        if entry.question.strip():
            form = normalize(entry.question)
            by_form.setdefault(form, _Forms(form, [])).entries.append(entry)
    ordered = sorted(by_form.values(), key=lambda f: (-len(f.entries), -f.last_ts, f.form))
    clusters: list[list[_Forms]] = []
    cluster_of: list[int] = []  # per placed form, in placing order
    sizes: list[int] = []  # its number of bigrams
    # The placed forms holding each bigram: only forms sharing a bigram can be similar, so
    # each form is compared with a few others, not with all of them.
    holders: dict[str, list[int]] = {}
    for forms in ordered:
        grams = _bigrams(forms.form)
        shared = Counter(i for gram in grams for i in holders.get(gram, ()))
        home = min(
            (
                cluster_of[i]
                for i, common in shared.items()
                if _jaccard(common, len(grams), sizes[i]) >= SIMILARITY_THRESHOLD
            ),
            default=len(clusters),
        )
        if home == len(clusters):
            clusters.append([])
        clusters[home].append(forms)
        for gram in grams:
            holders.setdefault(gram, []).append(len(sizes))
        cluster_of.append(home)
        sizes.append(len(grams))
    groups = [_group(cluster) for cluster in clusters]
    return sorted(groups, key=lambda g: (-g.count, -g.last_ts, g.representative))


def _group(cluster: list[_Forms]) -> UnansweredGroup:
    members = [e for forms in cluster for e in forms.entries]
    texts: Counter[str] = Counter()
    rank: dict[str, tuple[int, float]] = {}  # text -> (its form's count, last asked)
    for forms in cluster:
        for e in forms.entries:
            text = e.question.strip()
            texts[text] += 1
            last = max(e.ts, rank.get(text, (0, e.ts))[1])
            rank[text] = (len(forms.entries), last)
    # Ties go to the text whose normalized form was asked most (a typo loses to the
    # Traditional spelling of the common question), then to the most recent.
    variants = sorted(texts, key=lambda t: (-texts[t], -rank[t][0], -rank[t][1], t))
    return UnansweredGroup(
        representative=variants[0],
        count=len(members),
        variants=tuple(variants),
        first_ts=min(e.ts for e in members),
        last_ts=max(e.ts for e in members),
        channels=_counts(e.channel for e in members),
        intents=_counts(e.intent for e in members),
        reasons=_counts(e.reason for e in members),
    )


def _counts(values: Iterable[str]) -> dict[str, int]:
    counter = Counter(values)
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


_HEADER = """\
# Unanswered questions, exported by `bizbot unanswered export` (docs/unanswered.md).
# {cases} case(s) from {questions} logged question(s).
#
# TO DO: every case has only its `user:` turn. The file loads and `bizbot faq-test` runs it,
# but a turn without expectations passes whatever the bot answers. For each case, either
# delete it, or uncomment and fill in its expectation lines (intent, answer_contains,
# sources: docs/faq-format.md), drop the `todo` tag and move it into a suite in tests/faq/.
version: 1
cases:
"""
_PLACEHOLDERS = (
    "    # intent: TODO",
    "    # answer_contains: [TODO]",
    "    # sources: [TODO]",
)
MAX_VARIANTS_SHOWN = 10


def export_cases(groups: Sequence[UnansweredGroup]) -> str:
    """The groups as a `bizbot faq-test` case file, expectations left to fill in.

    Raises ValueError for no groups: the format needs at least one case.
    """
    if not groups:
        raise ValueError("no groups to export: a case file needs at least one case")
    width = max(3, len(str(len(groups))))
    questions = sum(g.count for g in groups)
    parts = [_HEADER.format(cases=len(groups), questions=questions)]
    for number, group in enumerate(groups, 1):
        parts.append(_case_text(f"unanswered-{number:0{width}d}", group))
    return "\n".join(parts)


def _case_text(case_id: str, group: UnansweredGroup) -> str:
    first, last = format_ts(group.first_ts), format_ts(group.last_ts)
    lines = [
        f"# asked {group.count} time(s), " + (first if first == last else f"{first} .. {last}"),
        f"# channels: {_tally(group.channels)}; Rasa's top intents: {_tally(group.intents)}",
        f"# reasons: {_tally(group.reasons)}",
    ]
    others = group.variants[1:]
    if others:
        lines.append("# also asked as:")
        lines += [f"#   {_comment(text)}" for text in others[:MAX_VARIANTS_SHOWN]]
        if len(others) > MAX_VARIANTS_SHOWN:
            lines.append(f"#   … and {len(others) - MAX_VARIANTS_SHOWN} more")
    lines += [
        f"- id: {case_id}",
        "  tags: [unanswered, todo]",
        "  turns:",
        f"  - {_mapping_line('user', ' '.join(group.representative.split()))}",
        *_PLACEHOLDERS,
    ]
    return "\n".join(lines) + "\n"


def _mapping_line(key: str, value: str) -> str:
    # PyYAML quotes and escapes whatever needs it (`yes`, `- x`, `#`, control characters);
    # `value` has no line breaks, so with an unlimited width it stays on one line.
    dumped = yaml.safe_dump({key: value}, allow_unicode=True, width=float("inf"))
    return dumped.rstrip("\n")


def _comment(text: str) -> str:
    # A line break would end the comment and a non-printable character is a YAML error,
    # so user text in a comment is one line of printable characters.
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())


def _tally(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{_comment(name) or '(none)'} {n}" for name, n in counts.items())


def format_ts(ts: float) -> str:
    """A unix time as `YYYY-MM-DD HH:MM UTC`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")

"""The unanswered-question log, grouping and export (bot/desk/unanswered.py)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.desk.unanswered import (
    FALLBACK,
    NOT_IN_SOURCES,
    SIMILARITY_THRESHOLD,
    Unanswered,
    UnansweredLog,
    export_cases,
    group_similar,
    normalize,
    similarity,
)
from bot.faqtest.cases import parse
from bot.faqtest.errors import CaseFileError
from bot.launcher import free_port
from bot.state.keys import Keys
from bot.state.redis import StateUnavailableError, open_redis

T0 = 1_717_200_000.0  # 2024-06-01 00:00 UTC

TALENT = "嘉定区有哪些人才补贴政策？"
TALENT_VARIANTS = [
    TALENT,
    "嘉定區有哪些人才補貼政策",  # Traditional, no punctuation
    "嘉定区 有哪些人才补贴政策?",  # a space, half-width question mark
    "嘉定区有哪些人材补贴政策",  # a typo: 材 for 才
    TALENT,
]
RENT = "嘉定区有哪些租房补贴政策？"  # same wording, a different question
LICENCE = "南湖区的营业执照怎么办理？"


def q(
    question: str, minute: int, *, channel: str = "web", intent: str = "nlu_fallback"
) -> Unanswered:
    return Unanswered(question, T0 + 60 * minute, channel, intent, FALLBACK)


@pytest.fixture
def keys() -> Keys:
    return Keys(f"t{uuid.uuid4().hex[:8]}:")


async def test_recorded_questions_come_back_oldest_first(redis: Redis, keys: Keys) -> None:
    log = UnansweredLog(redis, keys)
    recorded = [
        Unanswered(TALENT, T0 + 0.125, "web", "nlu_fallback", FALLBACK),
        Unanswered("浦东的房租多少钱", T0 + 1, "wechat", "ask_park", NOT_IN_SOURCES),
        Unanswered("Help!", T0 + 2, "telegram", "request_human", FALLBACK),
    ]
    for entry in recorded:
        await log.record(entry)
    assert await log.entries() == recorded
    assert await redis.type(keys.unanswered()) == "stream"


async def test_limit_returns_the_newest_entries_still_oldest_first(
    redis: Redis, keys: Keys
) -> None:
    log = UnansweredLog(redis, keys)
    for minute in range(5):
        await log.record(q(f"问题{minute}", minute))
    assert [e.question for e in await log.entries(limit=2)] == ["问题3", "问题4"]
    assert await log.entries(limit=0) == []
    assert len(await log.entries(limit=50)) == 5


async def test_an_empty_log_has_no_entries(redis: Redis, keys: Keys) -> None:
    assert await UnansweredLog(redis, keys).entries() == []


async def test_the_stream_is_capped_near_max_entries(redis: Redis, keys: Keys) -> None:
    log = UnansweredLog(redis, keys, max_entries=50)
    for minute in range(400):
        await log.record(q(f"问题{minute}", minute))
    length = await redis.xlen(keys.unanswered())
    # Approximate MAXLEN trims whole stream nodes of 100 entries: never below the cap.
    assert 50 <= length < 50 + 100
    newest = await log.entries()
    assert newest[-1].question == "问题399"
    assert newest[0].question == f"问题{400 - length}"


async def test_a_malformed_entry_is_skipped_not_fatal(redis: Redis, keys: Keys) -> None:
    log = UnansweredLog(redis, keys)
    await log.record(q("第一个", 0))
    await redis.xadd(keys.unanswered(), {"question": "没有时间"})
    await redis.xadd(
        keys.unanswered(),
        {"question": "坏时间", "ts": "soon", "channel": "web", "intent": "x", "reason": FALLBACK},
    )
    await log.record(q("第二个", 1))
    assert [e.question for e in await log.entries()] == ["第一个", "第二个"]


async def test_unreachable_redis_raises_state_unavailable(keys: Keys) -> None:
    async with open_redis(f"redis://127.0.0.1:{free_port()}/0") as client:
        log = UnansweredLog(client, keys)
        with pytest.raises(StateUnavailableError) as caught:
            await log.record(q(TALENT, 0))
        assert caught.value.__cause__ is not None
        with pytest.raises(StateUnavailableError):
            await log.entries()


def test_max_entries_must_be_positive(keys: Keys) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        UnansweredLog(Redis(), keys, max_entries=0)


def test_normalize_folds_script_case_punctuation_and_spaces() -> None:
    assert normalize("嘉定區 有哪些人才補貼政策？") == "嘉定区有哪些人才补贴政策"
    assert normalize("ＡＢＣ公司，怎么注册?!") == "abc公司怎么注册"
    assert normalize("How do I apply?") == "howdoiapply"
    assert normalize("？？？") == ""


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        (TALENT, "嘉定区有哪些人材补贴政策", True),  # one wrong character
        (LICENCE, "南湖区营业执照怎么办理", True),  # one character left out
        (LICENCE, "南湖区的营业执照怎么办里", True),
        (TALENT, RENT, False),  # 人才 vs 租房: a different question
        (TALENT, "今天天气怎么样", False),
    ],
)
def test_similarity_threshold_separates_typos_from_other_questions(
    a: str, b: str, similar: bool
) -> None:
    assert (similarity(normalize(a), normalize(b)) >= SIMILARITY_THRESHOLD) is similar


def test_variants_in_both_scripts_with_punctuation_and_a_typo_form_one_group() -> None:
    entries = [
        q(text, minute, channel=channel)
        for minute, (text, channel) in enumerate(
            zip(TALENT_VARIANTS, ["web", "wechat", "telegram", "web", "web"], strict=True)
        )
    ]
    entries += [q(RENT, 10), q(LICENCE, 11, intent="ask_permit")]
    groups = group_similar(entries)
    assert [g.representative for g in groups] == [TALENT, LICENCE, RENT]
    talent = groups[0]
    assert talent.count == 5
    assert talent.variants[0] == TALENT
    assert set(talent.variants) == set(TALENT_VARIANTS)
    assert len(talent.variants) == 4
    assert dict(talent.channels) == {"web": 3, "telegram": 1, "wechat": 1}
    assert list(talent.channels) == ["web", "telegram", "wechat"]
    assert talent.top_intent == "nlu_fallback"
    assert dict(talent.reasons) == {FALLBACK: 5}
    assert (talent.first_ts, talent.last_ts) == (T0, T0 + 4 * 60)
    assert groups[1].top_intent == "ask_permit"


def test_groups_are_ordered_by_count_then_most_recent() -> None:
    entries = [
        q("浦东的房租多少钱", 0),
        q("怎么联系你们老板", 1),
        q("营业执照在哪里办", 2),
        q("营业执照在哪里办？", 3),
        q("浦东的房租多少钱", 4),
        q("食堂几点开门", 5),
    ]
    groups = group_similar(entries)
    assert [(g.representative, g.count) for g in groups] == [
        ("浦东的房租多少钱", 2),  # as frequent as the licence question, asked more recently
        ("营业执照在哪里办？", 2),
        ("食堂几点开门", 1),
        ("怎么联系你们老板", 1),
    ]


def test_the_representative_is_the_most_frequent_variant() -> None:
    entries = [
        q("嘉定區有哪些人才補貼政策", 0),
        q(TALENT, 1),
        q(TALENT, 2),
        q("嘉定區有哪些人才補貼政策", 3),
    ]
    entries.append(q("嘉定區有哪些人才補貼政策", 4))
    (group,) = group_similar(entries)
    assert group.representative == "嘉定區有哪些人才補貼政策"
    assert group.variants == ("嘉定區有哪些人才補貼政策", TALENT)


def test_grouping_is_independent_of_input_order() -> None:
    entries = [q(text, minute) for minute, text in enumerate([*TALENT_VARIANTS, RENT, LICENCE])]
    assert group_similar(entries) == group_similar(list(reversed(entries)))


def test_blank_questions_are_ignored() -> None:
    assert group_similar([q("   ", 0), q("", 1)]) == []


def test_export_loads_with_the_faq_case_loader() -> None:
    entries = [q(text, minute) for minute, text in enumerate([*TALENT_VARIANTS, RENT, LICENCE])]
    text = export_cases(group_similar(entries))
    cases = parse(text, Path("unanswered.yml"))
    assert [c.id for c in cases] == ["unanswered-001", "unanswered-002", "unanswered-003"]
    assert cases[0].tags == ("unanswered", "todo")
    assert [c.turns[0].user for c in cases] == [TALENT, LICENCE, RENT]
    # Nothing is expected yet: a person fills the expectations in.
    turn = cases[0].turns[0]
    assert (turn.intent, turn.answer_contains, turn.sources) == (None, None, None)


def test_export_lists_variants_count_and_dates_as_comments() -> None:
    entries = [q(text, minute) for minute, text in enumerate(TALENT_VARIANTS)]
    text = export_cases(group_similar(entries))
    assert "# asked 5 time(s), 2024-06-01 00:00 UTC .. 2024-06-01 00:04 UTC" in text
    assert "#   嘉定區有哪些人才補貼政策\n" in text
    assert "#   嘉定区有哪些人材补贴政策\n" in text
    assert "TO DO" in text.splitlines()[3]


def test_uncommented_placeholders_still_make_a_valid_case() -> None:
    text = export_cases(group_similar([q(TALENT, 0)]))
    filled = text.replace("    # intent: TODO", "    intent: ask_funding")
    filled = filled.replace("    # answer_contains: [TODO]", '    answer_contains: ["补贴"]')
    filled = filled.replace("    # sources: [TODO]", "    sources: [jiading-talent-2023]")
    (case,) = parse(filled, Path("filled.yml"))
    turn = case.turns[0]
    assert (turn.intent, turn.answer_contains, turn.sources) == (
        "ask_funding",
        ("补贴",),
        ("jiading-talent-2023",),
    )


@pytest.mark.parametrize(
    "question",
    [
        "&*%$#@!",
        "- yes",
        "no",
        "123",
        "key: value # not a comment",
        "'引号\"",
        "多行\n问题\u2028x",
        "控制\x07符",
    ],
)
def test_export_quotes_awkward_questions_so_the_file_still_loads(question: str) -> None:
    text = export_cases(group_similar([q(question, 0), q(question, 1), q(question + "?", 2)]))
    (case,) = parse(text, Path("awkward.yml"))
    assert case.turns[0].user == " ".join(question.split())


def test_export_with_many_groups_keeps_ids_sortable() -> None:
    entries = [
        q(f"{chr(0x4E00 + 3 * n)}{chr(0x5400 + 5 * n)}{chr(0x6000 + 7 * n)}", n)
        for n in range(1000)
    ]
    cases = parse(export_cases(group_similar(entries)), Path("many.yml"))
    assert cases[0].id == "unanswered-0001"
    assert cases[-1].id == "unanswered-1000"


def test_export_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one case"):
        export_cases([])
    # An empty case list is exactly what the loader would reject.
    with pytest.raises(CaseFileError):
        parse("version: 1\ncases: []\n", Path("empty.yml"))


def test_a_typo_loses_a_tie_for_representative_to_the_common_spelling() -> None:
    # Each text once; 人才 is asked twice counting both scripts, the typo once (and last).
    entries = [q(TALENT, 0), q("嘉定區有哪些人才補貼政策", 1), q("嘉定区有哪些人材补贴政策", 2)]
    (group,) = group_similar(entries)
    assert group.representative == "嘉定區有哪些人才補貼政策"
    assert group.variants[-1] == "嘉定区有哪些人材补贴政策"

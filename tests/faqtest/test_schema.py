"""The case-file schema: every malformed-file kind is rejected naming file, line, case, field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bot.faqtest.cases import load_file, parse
from bot.faqtest.errors import CaseFileError, Problem
from bot.faqtest.schema import SCHEMA_PATH, case_schema

from .conftest import DATA

BAD = DATA / "bad"


def problems_of(file: Path) -> list[Problem]:
    with pytest.raises(CaseFileError) as info:
        load_file(file)
    assert info.value.files == [file]
    return info.value.problems


def test_the_schema_is_valid_draft_2020_12_and_strict() -> None:
    schema = json.loads(SCHEMA_PATH.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema == case_schema()
    assert schema["additionalProperties"] is False
    assert schema["properties"]["version"]["const"] == 1
    assert schema["$defs"]["case"]["properties"]["id"]["pattern"]
    for name in ("case", "turn"):
        assert schema["$defs"][name]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("name", "line", "case_id", "field", "message"),
    [
        ("unknown-field.yml", 6, "typo", "turns[0].intnet", "unknown field (allowed: user, intent"),
        (
            "wrong-type.yml",
            6,
            "flag-as-text",
            "turns[0].escalated",
            "'yes' is not of type 'boolean'",
        ),
        ("missing-user.yml", 5, "no-question", "turns[0].user", "required field is missing"),
        ("empty-turns.yml", 4, "nothing-to-say", "turns", "should be non-empty"),
        ("duplicate-id.yml", 6, "same", "id", "duplicate id (first used in case #1)"),
        ("bad-version.yml", 1, None, "version", "must be 1, got 2"),
        ("bad-id.yml", 3, "has spaces!", "id", "does not match"),
    ],
)
def test_malformed_file_names_file_line_case_and_field(
    name: str, line: int, case_id: str | None, field: str, message: str
) -> None:
    [problem] = problems_of(BAD / name)
    assert (problem.line, problem.case_id, problem.field) == (line, case_id, field)
    assert message in problem.message
    text = str(problem)
    assert text.startswith(f"{BAD / name}:{line}: ")
    assert field in text
    if case_id is not None:
        assert f"case {case_id}" in text


def test_yaml_syntax_error_names_file_and_line() -> None:
    [problem] = problems_of(BAD / "syntax-error.yml")
    assert problem.line == 7
    assert problem.message.startswith("YAML syntax error: expected ',' or ']'")
    assert "started at line 6" in problem.message
    assert str(problem).startswith(f"{BAD / 'syntax-error.yml'}:7: YAML syntax error")


def test_non_mapping_root_is_rejected() -> None:
    [problem] = problems_of(BAD / "not-a-mapping.yml")
    assert problem.line == 1
    assert "the file is a list, not a mapping" in problem.message


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_file_is_rejected(text: str) -> None:
    with pytest.raises(CaseFileError, match="the file is empty"):
        parse(text, Path("empty.yml"))


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = """\
version: 1
cases:
- id: first
  tags: [qa, qa]
  turns:
  - user: 你好
    intent: 5
    foo: bar
    bar: baz
  - user: "  "
    intent_any: []
- turns:
  - user: x
    entities: {region: 5}
    answer_contains_any: []
"""
    with pytest.raises(CaseFileError) as info:
        parse(text, Path("many.yml"))
    got = {(p.line, p.case_id, p.field) for p in info.value.problems}
    assert got == {
        (4, "first", "tags"),
        (7, "first", "turns[0].intent"),
        (8, "first", "turns[0].foo"),
        (9, "first", "turns[0].bar"),
        (10, "first", "turns[1].user"),
        (11, "first", "turns[1].intent_any"),
        (12, "#2", "id"),
        (14, "#2", "turns[0].entities.region"),
        (15, "#2", "turns[0].answer_contains_any"),
    }


def test_a_key_written_twice_is_an_error() -> None:
    text = "version: 1\ncases:\n- id: a\n  turns:\n  - user: hi\n    intent: a\n    intent: b\n"
    with pytest.raises(CaseFileError) as info:
        parse(text, Path("twice.yml"))
    [problem] = info.value.problems
    assert (problem.line, problem.case_id, problem.field) == (7, "a", "turns[0].intent")
    assert "written twice" in problem.message


@pytest.mark.parametrize(
    ("snippet", "field"),
    [
        ("version: true", "version"),  # YAML true is not the number 1
        ("version: '1'", "version"),
        ("cases: []", "cases"),
        ("cases: {a: 1}", "cases"),
    ],
)
def test_root_fields(snippet: str, field: str) -> None:
    good = {"version": "version: 1", "cases": "cases:\n- id: a\n  turns: [{user: hi}]"}
    good[field] = snippet
    with pytest.raises(CaseFileError) as info:
        parse("\n".join(good.values()) + "\n", Path("root.yml"))
    assert [p.field for p in info.value.problems] == [field]


def test_unknown_root_field() -> None:
    text = "version: 1\nsuite: x\ncases:\n- id: a\n  turns: [{user: hi}]\n"
    with pytest.raises(CaseFileError) as info:
        parse(text, Path("root.yml"))
    [problem] = info.value.problems
    assert (problem.line, problem.case_id, problem.field) == (2, None, "suite")


def test_the_documented_example_is_valid() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "faq-format.md"
    text = docs.read_text("utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    [case] = parse(text, docs)
    assert (case.id, case.tags, case.line) == ("parks-count", ("qa",), 3)
    [turn] = case.turns
    assert turn.user == "嘉定一共有多少家特色产业园区？"
    assert turn.intent == "ask_park"
    assert turn.intent_any == ("ask_park", "ask_industry")
    assert turn.entities == {"region": "嘉定区"}
    assert turn.answer_contains == ("19",)
    assert turn.answer_contains_any == ("19家", "19个")
    assert turn.answer_excludes == ("北京",)
    assert turn.sources == ("jiading-featured-parks-2023",)
    assert turn.escalated is False

"""Finding case files, loading them, selecting by tag."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.faqtest.cases import collect_files, load_paths, select
from bot.faqtest.errors import CaseFileError, NoCasesError
from bot.faqtest.models import Case, Expect

from .conftest import DATA

FAKE = DATA / "fake"


def test_a_directory_means_its_yaml_files_sorted_not_recursive(tmp_path: Path) -> None:
    for name in ("b.yaml", "a.yml", "notes.txt"):
        (tmp_path / name).write_text("version: 1\n", "utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.yml").write_text("version: 1\n", "utf-8")
    assert collect_files([tmp_path]) == [tmp_path / "a.yml", tmp_path / "b.yaml"]


def test_files_are_taken_as_given_once(tmp_path: Path) -> None:
    suite = tmp_path / "suite.txt"
    suite.write_text("", "utf-8")
    assert collect_files([suite, tmp_path, suite]) == [suite]


def test_a_missing_path_is_a_case_file_error(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="no such file or directory"):
        collect_files([tmp_path / "nope.yml"])


def test_an_empty_directory_has_no_cases(tmp_path: Path) -> None:
    with pytest.raises(NoCasesError, match="no case files"):
        load_paths([tmp_path])


def test_load_paths_keeps_file_order_and_locations() -> None:
    cases = load_paths([FAKE])
    assert [(c.file.name, c.id) for c in cases] == [
        ("basics.yml", "hello"),
        ("basics.yml", "parks"),
        ("basics.yml", "human"),
        ("failing.yml", "wrong-intent"),
    ]
    assert cases[0].line == 4
    assert [t.user for t in cases[2].turns] == ["你好", "我要转人工"]


def test_one_bad_file_rejects_the_run_and_names_every_bad_file(tmp_path: Path) -> None:
    bad = [DATA / "bad" / "wrong-type.yml", DATA / "bad" / "bad-version.yml"]
    with pytest.raises(CaseFileError) as info:
        load_paths([FAKE, *bad])
    assert info.value.files == bad


def test_same_id_in_two_files_is_fine(tmp_path: Path) -> None:
    text = "version: 1\ncases:\n- id: same\n  turns: [{user: hi}]\n"
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text(text, "utf-8")
    assert [c.id for c in load_paths([tmp_path])] == ["same", "same"]


def case(id_: str, *tags: str) -> Case:
    return Case(id=id_, turns=(Expect(user="hi"),), tags=tags)


def test_select_runs_a_case_having_any_given_tag() -> None:
    cases = [case("a", "qa"), case("b", "multi", "qa"), case("c", "slow"), case("d")]
    assert [c.id for c in select(cases, None)] == ["a", "b", "c", "d"]
    assert [c.id for c in select(cases, {"multi", "slow"})] == ["b", "c"]
    assert [c.id for c in select(cases, {"qa"})] == ["a", "b"]


def test_select_nothing_is_an_error() -> None:
    with pytest.raises(NoCasesError, match="no case selected with tags nope, zz"):
        select([case("a", "qa")], {"zz", "nope"})

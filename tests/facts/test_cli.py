"""`bizbot facts …` through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli.facts import app
from bot.facts import BuildResult

from .conftest import SEEDS

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "facts"
    result = _run("build", "--seeds", str(SEEDS), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_build_reports_facts_and_whether_it_rebuilt(index_dir: Path, built: BuildResult) -> None:
    result = _run("build", "--seeds", str(SEEDS), "--out", str(index_dir))
    assert result.exit_code == 0
    assert "up to date" in result.output
    assert f"{built.facts} facts from 5 documents" in result.output
    forced = _run("build", "--seeds", str(SEEDS), "--out", str(index_dir), "--force")
    assert "rebuilt" in forced.output


def test_search_shows_hits_headings_and_citations(index_dir: Path) -> None:
    result = _run("search", "嘉康园一期入驻率", "--index", str(index_dir), "-k", "2")
    assert result.exit_code == 0, result.output
    assert "jiading-sensor-park-2024#" in result.output
    assert "83.03%" in result.output
    assert "汇聚“五大要素”资源" in result.output
    assert "来源：《" in result.output


def test_search_with_topic_and_region(index_dir: Path) -> None:
    result = _run(
        "search",
        "科研人员有多少",
        "--topic",
        "talent",
        "--region",
        "南湖区",
        "--index",
        str(index_dir),
    )
    assert result.exit_code == 0, result.output
    assert "nanhu-microelectronics-2023#" in result.output


def test_search_says_when_nothing_answers(index_dir: Path) -> None:
    result = _run("search", "上海的个税优惠", "--index", str(index_dir))
    assert result.exit_code == 0
    assert "Nothing in the sources" in result.output


def test_show_prints_every_field_including_the_original(index_dir: Path) -> None:
    result = _run("show", "nanhu-microelectronics-2023#026", "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert "微电子产业政府引导基金" in result.output
    assert "工業" in result.output  # the original, Traditional text
    for field in ("heading", "region", "topics", "entities", "numbers", "original", "citation"):
        assert field in result.output


def test_stats_counts_per_document_topic_and_region(index_dir: Path) -> None:
    result = _run("stats", "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    for word in ("jiading-zhangjiang-plan-2024", "funding", "菊园新区", "facts per region"):
        assert word in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("stats", "--index", "{missing}"),
        ("show", "nope#001", "--index", "{index}"),
        ("search", "人才", "--topic", "housing", "--index", "{index}"),
        ("build", "--seeds", "{missing}", "--out", "{missing}"),
    ],
)
def test_errors_are_one_red_line_and_exit_code_2(
    args: tuple[str, ...], index_dir: Path, tmp_path: Path
) -> None:
    filled = [a.format(missing=tmp_path / "missing", index=index_dir) for a in args]
    result = _run(*filled)
    assert result.exit_code == 2
    assert "error:" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_bad_catalogue_is_reported_with_file_and_line(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "catalog.yml").write_text("documents:\n- id: [oops\n", encoding="utf-8")
    result = _run("build", "--seeds", str(seeds), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "catalog.yml:" in result.output

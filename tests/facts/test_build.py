"""Building the index: freshness, determinism, atomic writes and every error case."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import jieba
import pytest

from bot.facts import (
    BuildResult,
    CatalogError,
    CatalogSchemaError,
    CatalogSyntaxError,
    FactStore,
    IndexCorruptError,
    IndexNotBuiltError,
    IndexWriteError,
    MissingDocumentError,
    SeedReadError,
    UncataloguedDocumentError,
    build_index,
    default_index_path,
    open_store,
    storage,
)
from bot.facts.build import content_key

EXTRA_ENTRY = """
- id: extra-notes-2024
  title: 补充说明
  publisher: 测试
  date: "2024"
  region: 嘉定区
  language: zh-Hans
"""


def _add_catalog_entry(seeds: Path, entry: str = EXTRA_ENTRY) -> None:
    catalog = seeds / "catalog.yml"
    catalog.write_text(catalog.read_text(encoding="utf-8") + entry, encoding="utf-8")


def test_build_writes_an_index_with_every_document(built: BuildResult) -> None:
    assert built.rebuilt
    assert built.index_path.is_file()
    assert built.documents == 5
    assert built.facts > 200


def test_rebuilds_only_when_seeds_change(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert build_index(seeds, out).rebuilt
    assert not build_index(seeds, out).rebuilt
    assert build_index(seeds, out, force=True).rebuilt
    doc = seeds / "jiading-featured-parks-2023.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\n嘉定新增一家特色园区。\n", encoding="utf-8")
    assert build_index(seeds, out).rebuilt


def test_key_covers_seeds_and_fact_store_code(seeds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = content_key(seeds)
    (seeds / "catalog.yml").write_text(
        (seeds / "catalog.yml").read_text(encoding="utf-8") + "\n# comment\n", encoding="utf-8"
    )
    assert content_key(seeds) != before
    after_seed_change = content_key(seeds)
    monkeypatch.setattr(storage, "FORMAT", storage.FORMAT + 1)
    assert content_key(seeds) != after_seed_change


def test_build_is_deterministic(seeds: Path, tmp_path: Path, built: BuildResult) -> None:
    again = build_index(seeds, tmp_path / "again")
    assert again.index_path.read_bytes() == built.index_path.read_bytes()


def test_adding_a_markdown_document_with_an_entry_adds_its_facts(
    seeds: Path, tmp_path: Path
) -> None:
    (seeds / "extra-notes-2024.md").write_text(
        "补充说明\n\n嘉定区为初创企业提供一站式的开办指导服务。\n", encoding="utf-8"
    )
    _add_catalog_entry(seeds)
    store = open_store(seeds, tmp_path / "out")
    facts = [f for f in store.facts if f.doc_id == "extra-notes-2024"]
    assert [f.text for f in facts] == ["嘉定区为初创企业提供一站式的开办指导服务。"]


def test_document_without_catalogue_entry_names_the_file(seeds: Path, tmp_path: Path) -> None:
    stray = seeds / "stray-2024.txt"
    stray.write_text("嘉定。", encoding="utf-8")
    with pytest.raises(UncataloguedDocumentError) as info:
        build_index(seeds, tmp_path / "out")
    assert info.value.path == stray
    assert "stray-2024.txt" in str(info.value)


def test_catalogue_entry_without_file_names_catalogue_and_line(seeds: Path, tmp_path: Path) -> None:
    _add_catalog_entry(seeds)
    with pytest.raises(MissingDocumentError) as info:
        build_index(seeds, tmp_path / "out")
    lines = (seeds / "catalog.yml").read_text(encoding="utf-8").splitlines()
    assert info.value.path == seeds / "catalog.yml"
    assert info.value.line is not None
    assert lines[info.value.line - 1] == "- id: extra-notes-2024"
    assert f"catalog.yml:{info.value.line}" in str(info.value)


def test_malformed_catalogue_yaml_names_the_line(seeds: Path, tmp_path: Path) -> None:
    catalog = seeds / "catalog.yml"
    lines = catalog.read_text(encoding="utf-8").splitlines()
    lines[9] = "  title: [unclosed"
    catalog.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogSyntaxError) as info:
        build_index(seeds, tmp_path / "out")
    assert info.value.path == catalog
    assert info.value.line is not None
    assert 10 <= info.value.line <= 12
    assert isinstance(info.value.__cause__, Exception)


def test_invalid_utf8_document_names_file_and_line(seeds: Path, tmp_path: Path) -> None:
    doc = seeds / "jiading-sensor-park-2024.txt"
    doc.write_bytes(doc.read_bytes().replace("营商环境".encode(), b"\xff\xfe", 1))
    with pytest.raises(SeedReadError) as info:
        build_index(seeds, tmp_path / "out")
    assert info.value.path == doc
    assert info.value.line == 2
    assert isinstance(info.value.__cause__, UnicodeDecodeError)


def test_missing_catalogue_is_an_error(seeds: Path, tmp_path: Path) -> None:
    (seeds / "catalog.yml").unlink()
    with pytest.raises(CatalogError, match="catalogue not found"):
        build_index(seeds, tmp_path / "out")


def test_catalogue_entry_with_unknown_region_is_rejected(seeds: Path, tmp_path: Path) -> None:
    (seeds / "extra-notes-2024.txt").write_text("说明。", encoding="utf-8")
    _add_catalog_entry(seeds, EXTRA_ENTRY.replace("嘉定区", "苏州工业园区"))
    with pytest.raises(CatalogSchemaError, match="unknown region"):
        build_index(seeds, tmp_path / "out")


def test_duplicate_catalogue_id_is_rejected(seeds: Path, tmp_path: Path) -> None:
    (seeds / "extra-notes-2024.txt").write_text("说明。", encoding="utf-8")
    _add_catalog_entry(seeds)
    _add_catalog_entry(seeds)
    with pytest.raises(CatalogSchemaError, match="duplicate id"):
        build_index(seeds, tmp_path / "out")


def test_failure_mid_write_leaves_the_old_index_intact(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = build_index(seeds, out)
    before = first.index_path.read_bytes()

    def half_then_crash(stream: IO[str], payload: dict[str, Any]) -> None:
        stream.write('{"format": 1, "facts": [')
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(storage, "write_payload", half_then_crash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_index(seeds, out, force=True)
    assert first.index_path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["index.json"]
    assert FactStore.load(first.index_path).stats().facts == first.facts


def test_failed_rename_is_an_index_write_error(
    seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = build_index(seeds, out)
    before = first.index_path.read_bytes()

    def refuse(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", refuse)
    with pytest.raises(IndexWriteError, match="No space left"):
        build_index(seeds, out, force=True)
    assert first.index_path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["index.json"]


def test_loading_a_missing_index_says_to_build(tmp_path: Path) -> None:
    with pytest.raises(IndexNotBuiltError, match="bizbot facts build"):
        FactStore.load(tmp_path / "index.json")


@pytest.mark.parametrize("content", ["{not json", '{"format": 999}', '{"format": 1}'])
def test_loading_a_corrupt_index_fails_cleanly(tmp_path: Path, content: str) -> None:
    path = tmp_path / "index.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        FactStore.load(path)


def test_corrupt_index_is_rebuilt(seeds: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.json").write_text("{not json", encoding="utf-8")
    assert build_index(seeds, out).rebuilt
    FactStore.load(out / "index.json")


def test_default_index_path_is_under_var_facts(tmp_path: Path) -> None:
    assert default_index_path(tmp_path) == tmp_path / "var" / "facts" / "index.json"


def test_open_store_builds_when_missing_then_loads(seeds: Path, tmp_path: Path) -> None:
    store = open_store(seeds, tmp_path / "out")
    assert (tmp_path / "out" / "index.json").is_file()
    assert store.search("嘉康园一期入驻率")


def test_building_does_not_touch_global_jieba(built: BuildResult) -> None:
    assert jieba.dt.FREQ.get("嘉康园") is None

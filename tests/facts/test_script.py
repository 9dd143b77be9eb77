"""Rendering in Traditional script: OpenCC s2t plus the corrections in data/script.yml."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.facts import DataFileError, FactStore, compose_answer
from bot.facts.answer import citation
from bot.facts.script import detect_script, plain_s2t, s2t_fixes, to_traditional

# Forms OpenCC's phrase table produces in these documents that are wrong here.
WRONG_FORMS = ["鍊", "髮展", "覈示"]


def _texts(store: FactStore) -> list[str]:
    return [t for f in store.facts for t in (f.text, citation(f), f.note or "")]


def test_chain_is_rendered_as_a_chain() -> None:
    assert plain_s2t("资金链") == "資金鍊"  # the OpenCC quirk this table exists for
    assert to_traditional("资金链") == "資金鏈"
    assert to_traditional("产业链、创新链、人才链、资金链") == "產業鏈、創新鏈、人才鏈、資金鏈"
    assert to_traditional("积蓄发展之势") == "積蓄發展之勢"
    assert to_traditional("一核示范、两翼拓展") == "一核示範、兩翼拓展"


def test_text_around_a_fix_is_converted_as_usual() -> None:
    assert to_traditional("南湖区资金链") == "南湖區資金鏈"
    assert to_traditional("嘉康园二期的入驻率") == plain_s2t("嘉康园二期的入驻率")
    assert to_traditional("") == ""


def test_traditional_answer_cites_the_nanhu_title_correctly(store: FactStore) -> None:
    answer = compose_answer(store.search("南湖區科融保授信了多少家企業"), script="hant")
    assert "資金鏈" in answer.text
    assert "資金鍊" not in answer.text
    assert detect_script(answer.text) == "hant"


def test_no_fact_or_citation_renders_a_known_wrong_form(store: FactStore) -> None:
    for text in _texts(store):
        rendered = to_traditional(text)
        assert not [w for w in WRONG_FORMS if w in rendered], text


def test_every_fix_changes_something(store: FactStore) -> None:
    texts = _texts(store)
    for simplified, traditional in s2t_fixes():
        assert any(simplified in t and plain_s2t(t) != to_traditional(t) for t in texts), (
            f"dead entry {simplified} -> {traditional}"
        )


def test_malformed_fix_table_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "script.yml"
    path.write_text("s2t_fixes:\n- from: 链\n  to: 鏈\n", encoding="utf-8")  # no note
    with pytest.raises(DataFileError, match="note") as caught:
        s2t_fixes(path)
    assert caught.value.path == path

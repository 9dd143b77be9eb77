"""The pure parts of bench/nlu.py: training-data parsing, scoring and report rendering."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from bench import nlu
from bench.nlu import Example, Prediction


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("[嘉定](region)的主导产业是什么", "嘉定的主导产业是什么"),
        ("[南湖](region)有多少家[微电子](industry)企业", "南湖有多少家微电子企业"),
        ("[嘉兴](region:南湖区)的政策", "嘉兴的政策"),
        ('[AI]{"entity": "industry", "value": "人工智能"}项目', "AI项目"),
        ('[芯谷][{"entity": "park"}, {"entity": "region"}]在哪', "芯谷在哪"),
        ("[注] 没有实体标注", "[注] 没有实体标注"),
        ("你好", "你好"),
    ],
)
def test_strip_markup_keeps_only_the_annotated_text(raw: str, plain: str) -> None:
    assert nlu.strip_markup(raw) == plain


def test_normalise_collapses_whitespace() -> None:
    assert nlu.normalise("  对   就是[嘉定](region) \n") == "对 就是嘉定"


DOCUMENT = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - 你好
    - 您好 [嘉定](region)
    -
- synonym: 南湖区
  examples: |
    - 南湖
- lookup: region
  examples: |
    - 嘉定
- regex: phone
  examples: |
    - \\d{11}
- intent: thank
  examples:
  - text: |
      谢谢[南湖](region)
    metadata: {sentiment: positive}
"""


def test_parse_nlu_yields_intent_pairs_and_skips_other_blocks() -> None:
    assert nlu.parse_nlu(DOCUMENT) == [
        Example("你好", "greet"),
        Example("您好 嘉定", "greet"),
        Example("谢谢南湖", "thank"),
    ]


def test_parse_nlu_of_an_empty_document() -> None:
    assert nlu.parse_nlu("") == []


def test_load_examples_reads_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(DOCUMENT, encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        "nlu:\n- intent: deny\n  examples: |\n    - 不是\n", encoding="utf-8"
    )
    pairs = nlu.load_examples(nlu.training_files(tmp_path))
    assert [p.intent for p in pairs] == ["greet", "greet", "thank", "deny"]


def test_the_project_training_data_has_14_intents_without_markup() -> None:
    train = nlu.load_examples(nlu.training_files())
    holdout = nlu.load_examples([nlu.HOLDOUT])
    assert len({ex.intent for ex in train}) == 14
    assert {ex.intent for ex in holdout} <= {ex.intent for ex in train}
    assert not [ex.text for ex in train + holdout if "](" in ex.text or "]{" in ex.text]


def test_fallback_is_a_miss_not_a_label() -> None:
    scores = nlu.score_intents(["greet", "greet", "thank"], ["greet", nlu.FALLBACK, "thank"])
    assert scores["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert set(scores["per_intent"]) == {"greet", "thank"}
    assert scores["per_intent"]["greet"]["recall"] == 0.5
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 1) / 2, abs=1e-4)


def test_prediction_of_keeps_the_intent_behind_a_fallback() -> None:
    parsed = {
        "intent": {"name": nlu.FALLBACK, "confidence": 0.55},
        "intent_ranking": [
            {"name": nlu.FALLBACK, "confidence": 0.55},
            {"name": "thank", "confidence": 0.41},
            {"name": "greet", "confidence": 0.38},
        ],
    }
    assert nlu.prediction_of(parsed) == Prediction(nlu.FALLBACK, 0.55, "thank")
    plain = {"intent": {"name": "greet", "confidence": 0.9}, "intent_ranking": []}
    assert nlu.prediction_of(plain) == Prediction("greet", 0.9, "greet")


def test_served_figures_count_fallback_as_wrong() -> None:
    holdout = [Example("你好", "greet"), Example("谢谢", "thank"), Example("多谢", "thank")]
    served = [
        Prediction("greet", 0.9, "greet"),
        Prediction(nlu.FALLBACK, 0.5, "thank"),
        Prediction("thank", 0.8, "thank"),
    ]
    figures = nlu.score_served(holdout, served)
    assert figures["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert figures["accuracy_fallback_undone"] == 1.0
    assert figures["fallback_predictions"] == 1
    assert figures["errors"] == [
        {
            "text": "谢谢",
            "intent": "thank",
            "predicted": nlu.FALLBACK,
            "confidence": 0.5,
            "underlying": "thank",
        }
    ]


def test_snapshot_copies_the_inputs_and_flags_newer_ones(tmp_path: Path) -> None:
    inputs = nlu.snapshot_inputs(tmp_path / "snap")
    assert inputs.holdout.exists()
    assert inputs.config.exists()
    assert len(inputs.nlu_files) == len(nlu.training_files())
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    newest = max(f.stat().st_mtime for f in inputs.model_inputs)
    os.utime(model, (newest + 10, newest + 10))
    assert nlu.changed_after(model, inputs) == []
    os.utime(inputs.nlu_files[0], (newest + 20, newest + 20))
    assert nlu.changed_after(model, inputs) == [f"data/nlu/{inputs.nlu_files[0].name}"]


def test_baseline_learns_a_toy_problem() -> None:
    train = [Example(t, "greet") for t in ("你好", "您好", "早上好")]
    train += [Example(t, "thank") for t in ("谢谢", "多谢", "感谢你")]
    result = nlu.run_baseline(train, [Example("你好呀", "greet"), Example("谢谢啦", "thank")])
    assert result["intent"]["accuracy"] == 1.0
    assert result["errors"] == []


def test_read_rasa_reports(tmp_path: Path) -> None:
    prf = {"precision": 1.0, "recall": 0.5, "f1-score": 2 / 3, "support": 2}
    intent_report = {
        "greet": prf,
        "thank": {**prf, "recall": 1.0, "f1-score": 1.0},
        "accuracy": 0.75,
        "macro avg": {**prf, "f1-score": 0.8333},
        "weighted avg": prf,
    }
    errors = [
        {
            "text": "嗨",
            "intent": "greet",
            "intent_prediction": {"name": nlu.FALLBACK, "confidence": 0.3},
        }
    ]
    (tmp_path / "intent_report.json").write_text(json.dumps(intent_report))
    (tmp_path / "intent_errors.json").write_text(json.dumps(errors))
    (tmp_path / "DIETClassifier_report.json").write_text(
        json.dumps({"region": prf, "micro avg": prf, "no_entity": prf})
    )
    intents = nlu.read_rasa_intents(tmp_path)
    assert intents["accuracy"] == 0.75
    assert intents["macro_f1"] == 0.8333
    assert set(intents["per_intent"]) == {"greet", "thank"}
    assert intents["errors"][0]["predicted"] == nlu.FALLBACK
    entities = nlu.read_rasa_entities(tmp_path)
    assert set(entities) == {"region", "micro avg"}
    assert entities["region"]["f1"] == 0.6667


def test_missing_report_is_an_expected_error(tmp_path: Path) -> None:
    with pytest.raises(nlu.BenchError, match=r"intent_report\.json"):
        nlu.read_rasa_intents(tmp_path)


def test_targets_need_095_and_beating_the_baseline() -> None:
    assert [t["passed"] for t in nlu.targets(0.97, 0.93)] == [True, True]
    assert [t["passed"] for t in nlu.targets(0.94, 0.93)] == [False, True]
    assert [t["passed"] for t in nlu.targets(0.96, 0.96)] == [True, False]


@pytest.mark.parametrize(
    ("texts", "minimum", "expected"), [(172, 500, 516), (100, 500, 500), (0, 500, 0)]
)
def test_request_count_is_whole_passes(texts: int, minimum: int, expected: int) -> None:
    assert nlu.request_count(texts, minimum) == expected


def _prf(f1: float, support: int = 10) -> dict[str, Any]:
    return {"precision": f1, "recall": f1, "f1": f1, "support": support}


def sample_run(*, reused: bool = True) -> dict[str, Any]:
    """A small run in the shape of nlu.json."""
    return {
        "reused_model": reused,
        "machine": {
            "timestamp": "2025-01-01T00:00:00+00:00",
            "git_commit": "0123456789abcdef",
            "cpu_count": 2,
            "load_avg_1m_at_start": 0.5,
            "python_rasa": "3.10.13",
            "rasa": "3.6.21",
        },
        "data": {
            "train_examples": 20,
            "holdout_examples": 4,
            "intents": ["greet", "thank"],
            "holdout_in_training": 0,
        },
        "ours": {
            "model": {
                "path": "rasa_project/models/bizbot.tar.gz",
                "mtime": "2025-01-01",
                "inputs_changed_after_model": ["data/nlu/greet.yml"] if reused else [],
            },
            "train_seconds": None if reused else 93.4,
            "intent": {
                "accuracy": 0.75,
                "macro_f1": 0.9412,
                "per_intent": {"greet": _prf(0.8824), "thank": _prf(1.0)},
                "fallback_predictions": 1,
                "accuracy_fallback_undone": 1.0,
                "macro_f1_fallback_undone": 1.0,
                "errors": [
                    {
                        "text": "嗨",
                        "intent": "greet",
                        "predicted": "nlu_fallback",
                        "confidence": 0.31,
                        "underlying": "greet",
                    }
                ],
            },
            "intent_rasa_test": {
                "accuracy": 1.0,
                "macro_f1": 1.0,
                "per_intent": {"greet": _prf(1.0), "thank": _prf(1.0)},
                "errors": [],
            },
            "entities": {"region": _prf(0.9, 8), "micro avg": _prf(0.9, 8)},
        },
        "baseline": {
            "train_seconds": 0.05,
            "intent": {
                "accuracy": 0.8,
                "macro_f1": 0.95,
                "per_intent": {"greet": _prf(0.9), "thank": _prf(1.0)},
            },
            "errors": [],
        },
        "serving": {
            "cold_start_seconds": 31.2,
            "first_parse_ms": 250.0,
            "latency": {
                "p50_ms": 20.0,
                "p95_ms": 30.5,
                "p99_ms": 41.0,
                "max_ms": 60.0,
                "mean_ms": 22.0,
                "requests": 516,
            },
            "max_seconds": 120.0,
            "rss_after_load_mb": 800.0,
            "peak_rss_mb": 812.3,
            "load_avg_1m_after": 1.5,
        },
        "targets": nlu.targets(0.9412, 0.95),
        "confusion_matrix": "nlu-confusion.png",
    }


def test_markdown_marks_failed_targets_honestly() -> None:
    md = nlu.render_markdown(sample_run())
    assert "| macro-F1 ≥ 0.95 | 0.941 | n/a | **FAIL** |" in md
    assert "| macro-F1 above the baseline | 0.941 | 0.950 | **FAIL** |" in md
    assert "**PASS**" not in md


def test_markdown_tables() -> None:
    md = nlu.render_markdown(sample_run(reused=False))
    assert "| accuracy | 0.750 | 1.000 | 0.800 |" in md
    assert "| greet | 10 | 0.882 | 1.000 | 0.900 | -0.018 |" in md
    assert "| park | 0 | n/a | n/a | n/a |" in md
    assert "| region | 8 | 0.900 | 0.900 | 0.900 |" in md
    assert "| training time | 93.4 s |  | 0.05 s |" in md
    assert "| p95 | 30.5 ms |" in md
    assert "nlu_fallback" in md
    assert "嗨 — greet → nlu_fallback (0.31, best real intent greet)" in md
    assert "[nlu-confusion.png](nlu-confusion.png)" in md
    assert "Warning" not in md


def test_markdown_says_whether_server_and_rasa_test_agree() -> None:
    run = sample_run()
    assert "server and `rasa test` agree" in nlu.render_markdown(run)
    run["ours"]["intent"]["accuracy_fallback_undone"] = 0.8
    assert "but the report says 1.000: server and `rasa test` disagree" in nlu.render_markdown(run)


def test_markdown_of_a_stale_reused_model() -> None:
    md = nlu.render_markdown(sample_run())
    assert "not measured (--reuse-model)" in md
    assert "**Warning:** the reused model is older than 1 of its training inputs" in md
    assert "data/nlu/greet.yml" in md


def test_summary_table_renders() -> None:
    table = nlu.summary_table(sample_run())
    assert table.row_count > 10


def test_write_results(tmp_path: Path) -> None:
    nlu.write_results(sample_run(), tmp_path)
    assert json.loads((tmp_path / "nlu.json").read_text("utf-8"))["serving"]["peak_rss_mb"] == 812.3
    assert (tmp_path / "nlu.md").read_text("utf-8").startswith("# NLU benchmark")


def test_missing_model_exits_2_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(nlu, "check_prerequisites", lambda: None)
    monkeypatch.setattr(nlu, "machine_info", dict)
    monkeypatch.setattr(nlu, "TMP", tmp_path)
    monkeypatch.setattr(nlu, "MODEL", nlu.ROOT / "no-such-dir" / "bizbot.tar.gz")
    assert nlu.main(["--reuse-model"]) == 2
    out = capsys.readouterr().out
    assert "make train" in out
    assert "Traceback" not in out

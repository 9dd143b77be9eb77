"""The Rasa project itself: data validation, generated lookups and the test stories."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from bench import nlu
from bot import rasa_lookups
from bot.launcher import MODEL, RASA_BIN
from bot.settings import ROOT

RASA_PROJECT = ROOT / "rasa_project"


def rasa(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the Rasa CLI from .venv-rasa in the project folder."""
    return in_rasa_env([str(RASA_BIN), *args], timeout=timeout)


def in_rasa_env(command: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a program of .venv-rasa in the project folder, without telemetry or TF noise."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        command,
        cwd=RASA_PROJECT,
        env=env,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def test_lookups_are_generated_from_the_entity_list() -> None:
    assert rasa_lookups.LOOKUPS_FILE.read_text("utf-8") == rasa_lookups.generate()


def test_lookups_map_traditional_and_short_forms_to_canonical_values() -> None:
    nlu = yaml.safe_load(rasa_lookups.generate())["nlu"]
    synonyms = {
        example[2:]: block["synonym"]
        for block in nlu
        if "synonym" in block
        for example in block["examples"].splitlines()
    }
    assert synonyms["南湖"] == "南湖区"
    assert synonyms["南湖區"] == "南湖区"
    assert synonyms["汽车芯谷"] == "上海汽车芯谷"
    assert synonyms["IC"] == "集成电路"
    lookups = {block["lookup"] for block in nlu if "lookup" in block}
    assert lookups == {"region", "park", "industry"}


def test_rasa_data_validates_without_warnings() -> None:
    result = rasa("data", "validate", "--fail-on-warnings")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_stories_pass_with_no_prediction_errors(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail("no trained model: run `make train`")
    result = rasa(
        "test",
        "core",
        "--stories",
        "tests/stories",
        "--model",
        str(MODEL),
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text("utf-8") if failed.exists() else result.stderr[-3000:]
    assert result.returncode == 0, detail


@pytest.mark.skipif(not MODEL.exists(), reason="needs the trained model: make train")
def test_rasa_run_fixes_change_no_prediction_and_no_error() -> None:
    """rasa_run.py's three fixes: model loading, response checks, tracker merging."""
    texts = [example.text for example in nlu.load_examples([nlu.HOLDOUT])][::5]
    done = in_rasa_env(
        [
            str(RASA_BIN.with_name("python")),
            str(Path(__file__).with_name("rasa_run_check.py")),
            str(MODEL),
            json.dumps(texts, ensure_ascii=False),
        ],
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(texts) >= 50
    assert report["label_differences"] == 0
    assert report["max_confidence_difference"] < 1e-6
    assert report["valid"] is True
    # An invalid response still fails with Rasa's own message.
    assert "Failed to validate Action server response" in report["invalid_error"]
    assert report["merge"] == [True, True, True, True]

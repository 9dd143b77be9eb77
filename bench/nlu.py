"""NLU benchmark: our Rasa pipeline against a char n-gram TF-IDF + logistic regression baseline.

Run from the repository root::

    .venv/bin/python -m bench.nlu                # train a fresh NLU model (timed), then test it
    .venv/bin/python -m bench.nlu --reuse-model  # use rasa_project/models/bizbot.tar.gz instead

Steps, one Rasa process at a time (the machine is small and shared):

1. config.yml, data/ and the holdout are copied to bench/results/tmp/snapshot/, so both systems
   see the same data even if someone edits it meanwhile; then ``rasa train nlu`` from that copy
   with an empty training cache, so the wall time is a real training (skipped with
   --reuse-model, which instead lists the inputs changed after the model was written);
2. ``rasa test nlu`` on the holdout (rasa_project/tests/nlu/holdout.yml, never trained on):
   entity figures, Rasa's own intent report and its intent confusion matrix;
3. the baseline: scikit-learn TF-IDF over char_wb 1-3-grams + LogisticRegression, trained on
   the same data/nlu/*.yml examples (entity markup stripped), scored on the same holdout;
4. ``rasa run --enable-api``: cold start; one POST /model/parse per holdout message, which
   gives our headline intent figures; then the latency loop (HdrHistogram, one keep-alive
   connection, concurrency 1) and the server's RSS.

Definitions:

* Intent figures are over the holdout's intents; macro-F1 is the unweighted mean of per-intent
  F1. Below its threshold Rasa's FallbackClassifier answers ``nlu_fallback``, which is no
  intent of the data: in the headline figures it counts as a wrong prediction, because that is
  what a user gets. ``rasa test nlu`` (3.6) does not do that: it undoes fallback predictions
  and scores the best real intent (rasa/nlu/test.py, get_eval_data), so its report, shown
  beside ours, is the optimistic reading.
* Entity figures are DIETClassifier's token-level report from ``rasa test``.

Results: bench/results/nlu.json, nlu.md and nlu-confusion.png (Rasa's intent confusion matrix,
fallback undone, as ``rasa test`` draws it).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from hdrh.histogram import HdrHistogram
from rich.console import Console
from rich.table import Table
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.pipeline import Pipeline, make_pipeline

from bench.measure import high_water_rss, machine_info, new_histogram, summarise, tree_rss
from bot.launcher import free_port

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "rasa_project"
RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = PROJECT / "models" / "bizbot.tar.gz"
NLU_DIR = PROJECT / "data" / "nlu"
HOLDOUT = PROJECT / "tests" / "nlu" / "holdout.yml"
ENDPOINTS = PROJECT / "endpoints.memory.yml"
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp"

ENTITIES = ("region", "park", "industry")
FALLBACK = "nlu_fallback"
TARGET_MACRO_F1 = 0.95
MIN_REQUESTS = 500
MAX_LOAD_SECONDS = 120.0
TRAIN_TIMEOUT_S = 1800.0
TEST_TIMEOUT_S = 900.0
START_TIMEOUT_S = 300.0
# Port 9 (discard) has no listener: Rasa only needs the variable set to start, and parsing
# never calls the action server.
DEAD_ACTION_SERVER = "http://127.0.0.1:9"

console = Console()


class BenchError(Exception):
    """An expected failure: shown as a message without a traceback, exit status ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class Example(NamedTuple):
    """One labelled message."""

    text: str
    intent: str


class Prediction(NamedTuple):
    """What /model/parse answered for one message."""

    intent: str
    confidence: float
    # The best real intent: what `rasa test` scores when it undoes a fallback.
    underlying: str


# ---------------------------------------------------------------- training data


# [text](entity), [text](entity:value), [text]{"entity": ...} and [text][{...}, {...}].
_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[\{.*?\}\])")


def strip_markup(text: str) -> str:
    """``[嘉定](region)的政策`` -> ``嘉定的政策``."""
    return _MARKUP.sub(r"\1", text)


def normalise(text: str) -> str:
    """The one text normalisation both systems' inputs get: markup out, whitespace collapsed."""
    return " ".join(strip_markup(text).split())


def block_examples(block: Mapping[str, Any]) -> list[str]:
    """Example texts of one intent block, in the ``- text`` string or the list-of-dicts form."""
    raw = block.get("examples") or ""
    if isinstance(raw, str):
        lines = (line.strip() for line in raw.splitlines())
        return [line[2:] for line in lines if line.startswith("- ")]
    return [str(item["text"]) for item in raw if isinstance(item, dict) and "text" in item]


def parse_nlu(document: str) -> list[Example]:
    """(text, intent) pairs of a Rasa NLU YAML document; synonym/lookup/regex blocks skipped."""
    data = yaml.safe_load(document) or {}
    pairs: list[Example] = []
    for block in data.get("nlu") or []:
        if isinstance(block, dict) and "intent" in block:
            intent = str(block["intent"])
            pairs += [Example(normalise(text), intent) for text in block_examples(block)]
    return [pair for pair in pairs if pair.text]


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Every example of the given NLU files."""
    return [ex for path in paths for ex in parse_nlu(path.read_text(encoding="utf-8"))]


def training_files(nlu_dir: Path = NLU_DIR) -> list[Path]:
    """data/nlu/*.yml; data/lookups.yml is left out (synonyms and lookups only)."""
    return sorted(nlu_dir.glob("*.yml"))


@dataclass(frozen=True)
class Inputs:
    """One consistent copy of the training inputs and the holdout."""

    config: Path
    data: Path
    holdout: Path

    @property
    def nlu_files(self) -> list[Path]:
        """The training files of this copy."""
        return training_files(self.data / "nlu")

    @property
    def model_inputs(self) -> list[Path]:
        """Files an NLU model is trained from."""
        lookups = self.data / "lookups.yml"
        return [self.config, *self.nlu_files, *([lookups] if lookups.exists() else [])]


def snapshot_inputs(dest: Path | None = None) -> Inputs:
    """Copy config.yml, data/ and the holdout (mtimes kept) to ``dest`` (tmp/snapshot/).

    A parallel edit then cannot split what Rasa trains on from what the baseline trains on.
    """
    dest = dest or TMP / "snapshot"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    shutil.copytree(PROJECT / "data", dest / "data")
    shutil.copy2(PROJECT / "config.yml", dest / "config.yml")
    shutil.copy2(HOLDOUT, dest / "holdout.yml")
    return Inputs(dest / "config.yml", dest / "data", dest / "holdout.yml")


def changed_after(model: Path, inputs: Inputs) -> list[str]:
    """Training inputs modified after ``model`` was written: a reused model may not know them."""
    built = model.stat().st_mtime
    base = inputs.config.parent
    return [str(f.relative_to(base)) for f in inputs.model_inputs if f.stat().st_mtime > built]


# ---------------------------------------------------------------- scoring


def _r(value: float) -> float:
    return round(float(value), 4)


def score_intents(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-intent P/R/F1 over the intents in ``truth``.

    Labels come from the truth only, as in ``rasa test``: a prediction outside them (such as
    nlu_fallback) is a miss for its true intent and is not a class of its own.
    """
    labels = sorted(set(truth))
    prec, rec, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_intent = {
        label: {"precision": _r(p), "recall": _r(r), "f1": _r(f), "support": int(s)}
        for label, p, r, f, s in zip(labels, prec, rec, f1, support, strict=True)
    }
    return {
        "accuracy": _r(accuracy_score(truth, predicted)),
        "macro_f1": _r(sum(f1) / len(labels)) if labels else 0.0,
        "per_intent": per_intent,
    }


def score_served(holdout: Sequence[Example], served: Sequence[Prediction]) -> dict[str, Any]:
    """Our headline intent figures: nlu_fallback counts as wrong; the undone reading beside."""
    truth = [ex.intent for ex in holdout]
    strict = score_intents(truth, [p.intent for p in served])
    undone = score_intents(truth, [p.underlying for p in served])
    errors = [
        {
            "text": ex.text,
            "intent": ex.intent,
            "predicted": p.intent,
            "confidence": _r(p.confidence),
            "underlying": p.underlying,
        }
        for ex, p in zip(holdout, served, strict=True)
        if p.intent != ex.intent
    ]
    return strict | {
        "fallback_predictions": sum(1 for p in served if p.intent == FALLBACK),
        "accuracy_fallback_undone": undone["accuracy"],
        "macro_f1_fallback_undone": undone["macro_f1"],
        "errors": errors,
    }


def train_baseline(train: Sequence[Example]) -> Pipeline:
    """TF-IDF over char_wb 1-3-grams + logistic regression, fitted on ``train``."""
    pipeline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3)),
        LogisticRegression(max_iter=2000, C=10.0),
    )
    pipeline.fit([ex.text for ex in train], [ex.intent for ex in train])
    return pipeline


def run_baseline(train: Sequence[Example], holdout: Sequence[Example]) -> dict[str, Any]:
    """Fit the baseline and score it on the holdout."""
    start = time.perf_counter()
    model = train_baseline(train)
    train_s = time.perf_counter() - start
    predicted = [str(p) for p in model.predict([ex.text for ex in holdout])]
    errors = [
        {"text": ex.text, "intent": ex.intent, "predicted": pred}
        for ex, pred in zip(holdout, predicted, strict=True)
        if pred != ex.intent
    ]
    return {
        "model": "TfidfVectorizer(char_wb, 1-3) + LogisticRegression(C=10, max_iter=2000)",
        "train_seconds": round(train_s, 3),
        "intent": score_intents([ex.intent for ex in holdout], predicted),
        "errors": errors,
    }


def read_rasa_intents(out: Path) -> dict[str, Any]:
    """Intent figures from ``rasa test nlu``'s intent_report.json and intent_errors.json.

    ``rasa test`` undoes nlu_fallback predictions before scoring, so these never contain one.
    """
    report = _read_json(out / "intent_report.json")
    summary_keys = {"accuracy", "micro avg", "macro avg", "weighted avg"}
    per_intent = {
        label: _prf(values) for label, values in report.items() if label not in summary_keys
    }
    errors_path = out / "intent_errors.json"
    raw_errors = _read_json(errors_path) if errors_path.exists() else []
    errors = [
        {
            "text": e["text"],
            "intent": e["intent"],
            "predicted": e["intent_prediction"]["name"],
            "confidence": _r(e["intent_prediction"]["confidence"]),
        }
        for e in raw_errors
    ]
    return {
        "accuracy": _r(report["accuracy"]),
        "macro_f1": _r(report["macro avg"]["f1-score"]),
        "per_intent": per_intent,
        "errors": errors,
    }


def read_rasa_entities(out: Path, extractor: str = "DIETClassifier") -> dict[str, Any]:
    """Per-entity and micro/macro P/R/F1 from ``rasa test nlu``'s ``<extractor>_report.json``."""
    report = _read_json(out / f"{extractor}_report.json")
    return {
        key: _prf(report[key]) for key in (*ENTITIES, "micro avg", "macro avg") if key in report
    }


def _prf(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "precision": _r(values["precision"]),
        "recall": _r(values["recall"]),
        "f1": _r(values["f1-score"]),
        "support": int(values["support"]),
    }


def _read_json(path: Path) -> Any:
    if not path.exists():
        raise BenchError(f"Rasa wrote no {path.name} in {path.parent}")
    return json.loads(path.read_text(encoding="utf-8"))


def targets(ours_macro_f1: float, baseline_macro_f1: float) -> list[dict[str, Any]]:
    """The acceptance targets with their verdicts."""
    return [
        {
            "target": f"macro-F1 ≥ {TARGET_MACRO_F1}",
            "value": ours_macro_f1,
            "passed": ours_macro_f1 >= TARGET_MACRO_F1,
        },
        {
            "target": "macro-F1 above the baseline",
            "value": ours_macro_f1,
            "baseline": baseline_macro_f1,
            "passed": ours_macro_f1 > baseline_macro_f1,
        },
    ]


# ---------------------------------------------------------------- processes


def rasa_env(**extra: str) -> dict[str, str]:
    """The environment every Rasa subprocess runs with."""
    return {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def tail(log: Path, lines: int = 25) -> str:
    """The end of a log, for error messages."""
    text = log.read_text("utf-8", errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def stop_group(popen: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM the process group, SIGKILL it if it does not exit in time."""
    if popen.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, signal.SIGTERM)
    try:
        popen.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait(10)


def run_rasa(args: Sequence[str], log: Path, timeout: float, env: Mapping[str, str]) -> float:
    """Run the Rasa CLI in the project folder with output to ``log``; its wall time in s."""
    start = time.perf_counter()
    with log.open("wb") as out:
        # Own process group, so a timeout or Ctrl-C also ends anything Rasa started.
        popen = subprocess.Popen(
            [str(RASA_BIN), *args],
            cwd=PROJECT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"`rasa {' '.join(args[:2])}` took over {timeout:.0f}s") from None
        finally:
            stop_group(popen)
    if code != 0:
        raise BenchError(f"`rasa {' '.join(args[:2])}` failed ({code}); end of {log}:\n{tail(log)}")
    return time.perf_counter() - start


def train_nlu(inputs: Inputs, out_dir: Path, logs: Path) -> tuple[Path, float]:
    """``rasa train nlu`` of the snapshot into ``out_dir``; the model and the wall time."""
    cache = out_dir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    name = "bench-nlu"
    # cwd stays rasa_project: config.yml's jieba dictionary_path is relative to it.
    args = ["train", "nlu", "--config", str(inputs.config), "--nlu", str(inputs.data)]
    args += ["--fixed-model-name", name, "--out", str(out_dir)]
    # An empty cache: otherwise Rasa reuses components `make train` fitted and the time
    # measures a cache hit.
    env = rasa_env(RASA_CACHE_DIRECTORY=str(cache))
    try:
        seconds = run_rasa(args, logs / "train.log", TRAIN_TIMEOUT_S, env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    model = out_dir / f"{name}.tar.gz"
    if not model.exists():
        raise BenchError(f"rasa train nlu wrote no {model}; see {logs / 'train.log'}")
    return model, seconds


def snapshot_model(source: Path, tmp: Path) -> Path:
    """A private copy of the shared model, so a parallel `make train` cannot swap it mid-run."""
    if not source.exists():
        raise BenchError(
            f"no trained model at {source.relative_to(ROOT)}: run `make train` "
            "(or drop --reuse-model to train one into bench/results/tmp/)",
            code=2,
        )
    copy = tmp / "reused-model.tar.gz"
    shutil.copy2(source, copy)
    return copy


def evaluate_model(model: Path, holdout: Path, out: Path, logs: Path) -> float:
    """``rasa test nlu`` on the holdout; its wall time in s."""
    shutil.rmtree(out, ignore_errors=True)
    args = ["test", "nlu", "--nlu", str(holdout), "--model", str(model), "--out", str(out)]
    return run_rasa(args, logs / "test.log", TEST_TIMEOUT_S, rasa_env())


# ---------------------------------------------------------------- serving


@dataclass
class Server:
    """A running ``rasa run --enable-api``."""

    popen: subprocess.Popen[bytes]
    port: int
    log: Path
    started: float
    rss_samples: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def rasa_server(model: Path, log: Path) -> Iterator[Server]:
    """Start the Rasa HTTP API on a free port; always stopped (whole process group) on exit."""
    port = free_port()
    args = [str(RASA_BIN), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port)]
    args += ["--model", str(model), "--endpoints", str(ENDPOINTS)]
    with log.open("wb") as out:
        started = time.perf_counter()
        popen = subprocess.Popen(
            args,
            cwd=PROJECT,
            env=rasa_env(ACTION_SERVER_URL=DEAD_ACTION_SERVER),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Server(popen, port, log, started)
    finally:
        stop_group(popen)


def wait_ready(server: Server, timeout: float = START_TIMEOUT_S) -> float:
    """Poll GET /version until it answers; seconds since the process started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.popen.poll() is not None:
            code = server.popen.returncode
            raise BenchError(f"rasa run exited ({code}); end of {server.log}:\n{tail(server.log)}")
        try:
            with urllib.request.urlopen(f"{server.url}/version", timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return time.perf_counter() - server.started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise BenchError(
        f"rasa run not ready after {timeout:.0f}s; end of {server.log}:\n{tail(server.log)}"
    )


def prediction_of(parsed: Mapping[str, Any]) -> Prediction:
    """The intent, its confidence and the best real intent of a /model/parse answer."""
    intent = parsed.get("intent") or {}
    name = str(intent.get("name"))
    ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK]
    underlying = str(ranking[0]["name"]) if ranking else name
    return Prediction(name, float(intent.get("confidence") or 0.0), underlying)


def parse(conn: http.client.HTTPConnection, text: str) -> Prediction:
    """POST /model/parse."""
    body = json.dumps({"text": text}, ensure_ascii=False).encode()
    try:
        conn.request("POST", "/model/parse", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        payload = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"POST /model/parse failed: {exc!r}") from None
    if resp.status != 200:
        raise BenchError(f"/model/parse answered {resp.status}: {payload[:200]!r}")
    return prediction_of(json.loads(payload))


def connect(server: Server, timeout: float = 60) -> http.client.HTTPConnection:
    """A keep-alive connection to the server."""
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)


def request_count(texts: int, minimum: int = MIN_REQUESTS) -> int:
    """Whole passes over ``texts`` holdout messages, at least ``minimum`` requests."""
    return math.ceil(minimum / texts) * texts if texts else 0


def load_test(
    server: Server, texts: Sequence[str], requests: int, max_seconds: float
) -> HdrHistogram:
    """Sequential parses of ``texts`` in a cycle, capped in count and time; latencies in µs."""
    hist = new_histogram()
    deadline = time.monotonic() + max_seconds
    conn = connect(server, timeout=30)
    try:
        for n, text in enumerate(itertools.islice(itertools.cycle(texts), requests)):
            if time.monotonic() > deadline:
                break
            start = time.perf_counter_ns()
            parse(conn, text)
            hist.record_value(max(1, (time.perf_counter_ns() - start) // 1000))
            if n % 50 == 0:
                server.rss_samples.append(tree_rss(server.popen.pid))
    finally:
        conn.close()
    return hist


def measure_serving(
    model: Path, holdout: Sequence[Example], logs: Path, min_requests: int, max_seconds: float
) -> tuple[dict[str, Any], list[Prediction]]:
    """Cold start, first parse, one scored pass, the latency loop and RSS of ``rasa run``."""
    texts = [ex.text for ex in holdout]
    with rasa_server(model, logs / "server.log") as server:
        cold = wait_ready(server)
        conn = connect(server)
        try:
            start = time.perf_counter()
            parse(conn, texts[0])
            first_ms = (time.perf_counter() - start) * 1000
            served = [parse(conn, text) for text in texts]
        finally:
            conn.close()
        hist = load_test(server, texts, request_count(len(texts), min_requests), max_seconds)
        rss = tree_rss(server.popen.pid)
        peak = max([rss, *server.rss_samples, high_water_rss(server.popen.pid) or 0])
    figures = {
        "cold_start_seconds": round(cold, 2),
        "first_parse_ms": round(first_ms, 1),
        "latency": summarise(hist),
        "max_seconds": max_seconds,
        "rss_after_load_mb": round(rss / 2**20, 1),
        "peak_rss_mb": round(peak / 2**20, 1),
        # The machine is shared: a busy neighbour shows here and explains slow latencies.
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }
    return figures, served


# ---------------------------------------------------------------- machine and report


def _f(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _verdict(passed: bool) -> str:
    return "**PASS**" if passed else "**FAIL**"


def render_markdown(data: Mapping[str, Any]) -> str:
    """nlu.md from the figures of one run."""
    sections = [
        _md_header(data),
        _md_stale(data),
        _md_targets(data),
        _md_summary(data),
        _md_intents(data),
        _md_entities(data),
        _md_serving(data),
        _md_errors(data),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _md_header(data: Mapping[str, Any]) -> str:
    m, d = data["machine"], data["data"]
    command = ".venv/bin/python -m bench.nlu" + (" --reuse-model" if data["reused_model"] else "")
    return "\n".join(
        [
            "# NLU benchmark",
            "",
            f"Generated by `{command}` at {m['timestamp']} (commit "
            f"`{(m['git_commit'] or 'unknown')[:12]}`), Rasa {m['rasa']} on Python "
            f"{m['python_rasa']}, {m['cpu_count']} CPUs, 1-min load {m['load_avg_1m_at_start']} "
            "at start. Definitions: `bench/nlu.py`.",
            "",
            f"Training: {d['train_examples']} examples of {len(d['intents'])} intents from "
            "`rasa_project/data/nlu/*.yml` (one snapshot for both systems). Evaluation: "
            f"{d['holdout_examples']} messages of "
            f"`rasa_project/tests/nlu/holdout.yml` ({d['holdout_in_training']} of them also "
            "appear verbatim in training). Model: "
            f"`{data['ours']['model']['path']}` ({data['ours']['model']['mtime']}).",
        ]
    )


def _md_stale(data: Mapping[str, Any]) -> str:
    stale = data["ours"]["model"].get("inputs_changed_after_model") or []
    if not stale:
        return ""
    return (
        f"> **Warning:** the reused model is older than {len(stale)} of its training inputs "
        f"({', '.join(stale)}), so it did not see the data the baseline was trained on and the "
        "comparison is unfair. Run without `--reuse-model` (or `make train` first)."
    )


def _md_targets(data: Mapping[str, Any]) -> str:
    rows = ["## Targets", "", _row("target", "ours", "baseline", "verdict"), "|---|---:|---:|---|"]
    rows += [
        _row(t["target"], _f(t["value"]), _f(t.get("baseline")), _verdict(t["passed"]))
        for t in data["targets"]
    ]
    rows += ["", f"Judged on our as-served figures ({FALLBACK} counted as wrong)."]
    return "\n".join(rows)


def _md_summary(data: Mapping[str, Any]) -> str:
    ours, base = data["ours"], data["baseline"]
    served, report, base_intent = ours["intent"], ours["intent_rasa_test"], base["intent"]
    train = ours["train_seconds"]
    train_cell = f"{train:.1f} s" if train is not None else "not measured (--reuse-model)"
    rows = [
        "## Intents: ours vs baseline",
        "",
        _row("", "ours, as served", "ours, `rasa test` report", "baseline (TF-IDF + LR)"),
        "|---|---:|---:|---:|",
        _row("accuracy", *(_f(x["accuracy"]) for x in (served, report, base_intent))),
        _row("macro-F1", *(_f(x["macro_f1"]) for x in (served, report, base_intent))),
        _row(
            "wrong predictions", len(served["errors"]), len(report["errors"]), len(base["errors"])
        ),
        _row(f"of which {FALLBACK}", served["fallback_predictions"], "0 (undone)", "n/a"),
        _row("training time", train_cell, "", f"{base['train_seconds']:.2f} s"),
        "",
        f"Below its confidence threshold Rasa's FallbackClassifier answers `{FALLBACK}`, which "
        "is no intent of the data. *As served* scores what POST /model/parse answers for each "
        f"holdout message, with `{FALLBACK}` counted as a wrong prediction: that is what a user "
        "gets, and our targets are judged on it. `rasa test nlu` (Rasa 3.6) does not count it "
        "wrong: it undoes fallback predictions and scores the best real intent "
        "(`rasa/nlu/test.py`, `get_eval_data`); its report is shown for reference. "
        f"{_agreement(served, report)} Macro-F1 is the unweighted mean of per-intent F1 over "
        "the holdout's intents, for every column.",
    ]
    return "\n".join(rows)


def _agreement(served: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """Whether the server, fallback undone, scores what the `rasa test` report says."""
    undone = served["accuracy_fallback_undone"]
    same = abs(undone - report["accuracy"]) < 1e-9
    return f"With the fallback undone the served answers score accuracy {_f(undone)}, " + (
        "the same as the report: server and `rasa test` agree."
        if same
        else f"but the report says {_f(report['accuracy'])}: server and `rasa test` disagree."
    )


def _md_intents(data: Mapping[str, Any]) -> str:
    ours = data["ours"]["intent"]["per_intent"]
    report = data["ours"]["intent_rasa_test"]["per_intent"]
    base = data["baseline"]["intent"]["per_intent"]
    rows = [
        "## Per-intent F1",
        "",
        _row(
            "intent",
            "support",
            "ours, as served",
            "ours, `rasa test`",
            "baseline",
            "served − baseline",
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for intent in sorted(set(ours) | set(base)):
        o, r, b = (x.get(intent, {}).get("f1") for x in (ours, report, base))
        support = (ours.get(intent) or base.get(intent) or {}).get("support", 0)
        delta = f"{o - b:+.3f}" if o is not None and b is not None else "n/a"
        rows.append(_row(intent, support, _f(o), _f(r), _f(b), delta))
    if data.get("confusion_matrix"):
        name = data["confusion_matrix"]
        rows += ["", f"Rasa's intent confusion matrix (fallback undone): [{name}]({name})."]
    return "\n".join(rows)


def _md_entities(data: Mapping[str, Any]) -> str:
    entities = data["ours"]["entities"]
    rows = [
        "## Entities (DIETClassifier, token level, ours only)",
        "",
        _row("entity", "support", "precision", "recall", "F1"),
        "|---|---:|---:|---:|---:|",
    ]
    for name in (*ENTITIES, "micro avg", "macro avg"):
        e = entities.get(name)
        if e is None:
            rows.append(_row(name, 0, "n/a", "n/a", "n/a"))
        else:
            rows.append(_row(name, e["support"], _f(e["precision"]), _f(e["recall"]), _f(e["f1"])))
    return "\n".join(rows)


def _md_serving(data: Mapping[str, Any]) -> str:
    s = data["serving"]
    lat = s["latency"]
    return "\n".join(
        [
            "## Serving (`rasa run --enable-api`, POST /model/parse)",
            "",
            _row("figure", "value"),
            "|---|---:|",
            _row(
                "cold start (process start → GET /version answers)",
                f"{s['cold_start_seconds']:.1f} s",
            ),
            _row("first parse after start", f"{s['first_parse_ms']:.1f} ms"),
            _row("p50", f"{lat['p50_ms']:.1f} ms"),
            _row("p95", f"{lat['p95_ms']:.1f} ms"),
            _row("p99", f"{lat['p99_ms']:.1f} ms"),
            _row("max", f"{lat['max_ms']:.1f} ms"),
            _row("requests (sequential, concurrency 1)", lat["requests"]),
            _row("RSS after the load", f"{s['rss_after_load_mb']:.0f} MB"),
            _row("peak RSS", f"{s['peak_rss_mb']:.0f} MB"),
            "",
            "Latency is client-side wall time over one keep-alive connection on loopback, "
            "holdout texts in a cycle, after the first parse (model warm-up) and the scored pass; "
            "the loop is "
            f"capped at {s['max_seconds']:.0f} s. RSS covers the server and its children "
            "(psutil); peak also takes the kernel's high-water mark (VmHWM). 1-min load "
            f"average after the load: {s.get('load_avg_1m_after', 'n/a')} on "
            f"{data['machine']['cpu_count']} CPUs.",
        ]
    )


def _md_errors(data: Mapping[str, Any]) -> str:
    errors = data["ours"]["intent"]["errors"]
    if not errors:
        return ""
    rows = ["## Holdout messages our model gets wrong (as served)", ""]
    for e in errors:
        behind = f", best real intent {e['underlying']}" if e["predicted"] == FALLBACK else ""
        rows.append(
            f"- {e['text']} — {e['intent']} → {e['predicted']} ({e['confidence']:.2f}{behind})"
        )
    return "\n".join(rows)


def summary_table(data: Mapping[str, Any]) -> Table:
    """The final console table."""
    ours, base, serving = data["ours"], data["baseline"], data["serving"]
    served, report = ours["intent"], ours["intent_rasa_test"]
    table = Table(title="NLU benchmark")
    for name in ("figure", "ours (served)", "ours (rasa test)", "baseline"):
        table.add_column(name, justify="left" if name == "figure" else "right")
    for key in ("accuracy", "macro_f1"):
        table.add_row(key, _f(served[key]), _f(report[key]), _f(base["intent"][key]))
    table.add_row(f"{FALLBACK} answers", str(served["fallback_predictions"]), "undone", "")
    for name in (*ENTITIES, "micro avg"):
        table.add_row(f"entity F1 {name}", "", _f(ours["entities"].get(name, {}).get("f1")), "")
    train = ours["train_seconds"]
    train_cell = "reused" if train is None else f"{train:.1f}"
    table.add_row("training s", train_cell, "", f"{base['train_seconds']:.2f}")
    lat = serving["latency"]
    table.add_row("parse p50/p95/p99 ms", f"{lat['p50_ms']}/{lat['p95_ms']}/{lat['p99_ms']}")
    table.add_row("cold start s", f"{serving['cold_start_seconds']}")
    table.add_row("peak RSS MB", f"{serving['peak_rss_mb']}")
    for t in data["targets"]:
        table.add_row(t["target"], "PASS" if t["passed"] else "[red]FAIL[/]")
    if ours["model"].get("inputs_changed_after_model"):
        table.add_row("[yellow]reused model is stale[/]", "see nlu.md")
    return table


# ---------------------------------------------------------------- main


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _mtime(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")


def check_prerequisites() -> None:
    """Fail early, with the command that fixes it."""
    if not RASA_BIN.exists():
        raise BenchError(f"{RASA_BIN.relative_to(ROOT)} is missing: run `make setup`", code=2)
    for needed in (PROJECT / "config.yml", HOLDOUT):
        if not needed.exists():
            raise BenchError(f"{needed.relative_to(ROOT)} is missing", code=2)
    if not training_files():
        raise BenchError(f"no training files in {NLU_DIR.relative_to(ROOT)}", code=2)


STEPS = 5


def step(n: int, text: str) -> None:
    """Announce a step."""
    console.print(f"[bold cyan][{n}/{STEPS}][/] {text}")


def prepare_model(
    reuse: bool, inputs: Inputs, logs: Path
) -> tuple[Path, float | None, dict[str, Any]]:
    """The model to test: trained now from the snapshot (timed), or a copy of the shared one."""
    if reuse:
        step(1, f"reusing {MODEL.relative_to(ROOT)} (no training time)")
        model = snapshot_model(MODEL, TMP)
        stale = changed_after(MODEL, inputs)
        if stale:
            console.print(
                f"[yellow]    the model is older than {', '.join(stale)}: "
                "ours and the baseline will not have seen the same data[/]"
            )
        source = {"path": str(MODEL.relative_to(ROOT)), "mtime": _mtime(MODEL)}
        return model, None, source | {"inputs_changed_after_model": stale}
    step(1, "rasa train nlu (timed, empty training cache) …")
    with console.status("training"):
        model, seconds = train_nlu(inputs, TMP / "models", logs)
    console.print(f"    trained in {seconds:.1f} s")
    return model, seconds, {"path": str(model.relative_to(ROOT)), "mtime": _mtime(model)}


def run_rasa_test(model: Path, inputs: Inputs, logs: Path) -> dict[str, Any]:
    """``rasa test nlu`` on the holdout, its reports read and the confusion matrix copied."""
    step(2, "rasa test nlu on the holdout …")
    out = TMP / "test"
    with console.status("testing"):
        seconds = evaluate_model(model, inputs.holdout, out, logs)
    console.print(f"    rasa test nlu took {seconds:.1f} s")
    confusion, target = out / "intent_confusion_matrix.png", RESULTS / "nlu-confusion.png"
    if confusion.exists():
        shutil.copyfile(confusion, target)
    else:
        # A stale picture from an earlier run would contradict this run's figures.
        target.unlink(missing_ok=True)
        console.print("[yellow]    Rasa wrote no intent_confusion_matrix.png[/]")
    return {
        "test_seconds": round(seconds, 1),
        "intent_rasa_test": read_rasa_intents(out),
        "entities": read_rasa_entities(out),
        "confusion_matrix": target.name if confusion.exists() else None,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """All the steps; the figures for nlu.json."""
    check_prerequisites()
    logs = TMP / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    inputs = snapshot_inputs()
    train, holdout = load_examples(inputs.nlu_files), load_examples([inputs.holdout])
    if not train or not holdout:
        raise BenchError("no training or no holdout examples found", code=2)
    machine = machine_info()
    model, train_s, source = prepare_model(args.reuse_model, inputs, logs)
    tested = run_rasa_test(model, inputs, logs)
    confusion = tested.pop("confusion_matrix")
    step(3, "baseline: TF-IDF char_wb 1-3 + LogisticRegression")
    baseline = run_baseline(train, holdout)
    step(4, f"serving: rasa run, ≥{args.requests} POST /model/parse, ≤{args.max_seconds:.0f} s")
    with console.status("starting rasa run, then parsing"):
        serving, served = measure_serving(model, holdout, logs, args.requests, args.max_seconds)
    step(5, "writing bench/results/nlu.json and nlu.md")
    ours = {"model": source, "train_seconds": _round(train_s, 1)} | tested
    ours["intent"] = score_served(holdout, served)
    return {
        "reused_model": bool(args.reuse_model),
        "machine": machine,
        "data": {
            "train_examples": len(train),
            "holdout_examples": len(holdout),
            "intents": sorted({ex.intent for ex in train}),
            "holdout_in_training": len({ex.text for ex in holdout} & {ex.text for ex in train}),
        },
        "ours": ours,
        "baseline": baseline,
        "serving": serving,
        "targets": targets(ours["intent"]["macro_f1"], baseline["intent"]["macro_f1"]),
        "confusion_matrix": confusion,
    }


def write_results(data: Mapping[str, Any], results: Path = RESULTS) -> None:
    """nlu.json and nlu.md."""
    results.mkdir(parents=True, exist_ok=True)
    (results / "nlu.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (results / "nlu.md").write_text(render_markdown(data), encoding="utf-8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--reuse-model",
        action="store_true",
        help=f"test {MODEL.relative_to(ROOT)} instead of training (no training time)",
    )
    parser.add_argument("--requests", type=int, default=MIN_REQUESTS, help="minimum parse requests")
    parser.add_argument(
        "--max-seconds", type=float, default=MAX_LOAD_SECONDS, help="cap on the load loop"
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.max_seconds <= 0:
        parser.error("--requests and --max-seconds must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m bench.nlu``; the exit status."""
    args = parse_args(argv)
    try:
        data = run(args)
        write_results(data)
    except BenchError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False)
        return exc.code
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]")
        return 130
    console.print(summary_table(data))
    console.print(f"results: {RESULTS.relative_to(ROOT)}/nlu.json, nlu.md, nlu-confusion.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

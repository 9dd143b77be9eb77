"""Retrieval quality benchmark: the fact store against a plain BM25 baseline.

Run from the repository root::

    .venv/bin/python -m bench.retrieval             # report, writes bench/results/retrieval.*
    .venv/bin/python -m bench.retrieval --calibrate # sweep MIN_CONFIDENCE on the calibration split

Definitions (also in tests/data/retrieval.yml and docs/fact-store.md):

* A hit is correct when its document is ``expected_doc`` and its fact text (or the
  paragraph note, e.g. 牵头单位) contains one of ``expect_contains``.
* hit@1 / hit@3 / MRR are over answerable questions (``expected_doc`` set), from the
  top 10 results; a question answered with [] scores 0.
* "nothing" rate is the share of unanswerable questions (``expected_doc: null``)
  for which search returns [].
* Items whose sha1(id) is divisible by 3 form the calibration split; the others are
  the held-out evaluation split.
* Baseline: bm25s over the raw, uncleaned paragraphs (non-empty lines) of the seed
  files, tokenised character by character; it returns every paragraph with score > 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import yaml

from bot.facts import FactStore, build_index
from bot.facts.catalog import read_text, seed_files
from bot.facts.index import MIN_CONFIDENCE

ROOT = Path(__file__).resolve().parent.parent
ITEMS = ROOT / "tests" / "data" / "retrieval.yml"
RESULTS = ROOT / "bench" / "results"
ROUNDS = 5
TOP = 10


@dataclass(frozen=True)
class Item:
    """One benchmark question."""

    id: str
    question: str
    topic: str
    region: str | None
    expected_doc: str | None
    expect_contains: tuple[str, ...]

    @property
    def split(self) -> str:
        """ "calibration" or "evaluation", fixed by the id's hash."""
        digest = int(hashlib.sha1(self.id.encode()).hexdigest(), 16)  # noqa: S324 - not security
        return "calibration" if digest % 3 == 0 else "evaluation"


@dataclass(frozen=True)
class Result:
    """A retrieved passage, reduced to what correctness needs."""

    doc_id: str
    text: str
    confidence: float = 1.0


Search = Callable[[Item], list[Result]]


def load_items(path: Path = ITEMS) -> list[Item]:
    """Read tests/data/retrieval.yml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Item(
            id=str(raw["id"]),
            question=str(raw["question"]),
            topic=str(raw["topic"]),
            region=raw.get("region"),
            expected_doc=raw.get("expected_doc"),
            expect_contains=tuple(raw.get("expect_contains") or ()),
        )
        for raw in data["items"]
    ]


def is_correct(item: Item, result: Result) -> bool:
    """The benchmark's definition of a correct hit."""
    return result.doc_id == item.expected_doc and any(
        p in result.text for p in item.expect_contains
    )


def score(items: Sequence[Item], runs: dict[str, list[Result]]) -> dict[str, Any]:
    """hit@1, hit@3, MRR, "nothing" rate and false-"nothing" rate."""
    answerable = [i for i in items if i.expected_doc]
    unanswerable = [i for i in items if not i.expected_doc]
    hit1 = hit3 = rr = empty = 0.0
    for item in answerable:
        ranks = [n for n, r in enumerate(runs[item.id][:TOP], 1) if is_correct(item, r)]
        hit1 += bool(ranks and ranks[0] == 1)
        hit3 += bool(ranks and ranks[0] <= 3)
        rr += 1 / ranks[0] if ranks else 0.0
        empty += not runs[item.id]
    nothing = sum(1 for i in unanswerable if not runs[i.id])
    n, m = max(len(answerable), 1), max(len(unanswerable), 1)
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hit@1": round(hit1 / n, 4),
        "hit@3": round(hit3 / n, 4),
        "mrr": round(rr / n, 4),
        "nothing_rate": round(nothing / m, 4),
        "false_nothing_rate": round(empty / n, 4),
    }


def timed(search: Search, items: Sequence[Item], rounds: int = ROUNDS) -> dict[str, float]:
    """p50/p95/max search latency in ms over ``rounds`` passes of every question."""
    samples: list[int] = []
    for _ in range(rounds):
        for item in items:
            start = time.perf_counter_ns()
            search(item)
            samples.append(time.perf_counter_ns() - start)
    ms = np.array(samples) / 1e6
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "max_ms": round(float(ms.max()), 3),
        "samples": len(samples),
    }


class Baseline:
    """bm25s over raw seed paragraphs with character tokens."""

    def __init__(self, seeds: Path) -> None:
        self.paragraphs: list[tuple[str, str]] = []
        for path in seed_files(seeds):
            for line in read_text(path).split("\n"):
                if line.strip():
                    self.paragraphs.append((path.stem, line.strip()))
        self.retriever = bm25s.BM25()
        self.retriever.index([self.chars(t) for _, t in self.paragraphs], show_progress=False)

    @staticmethod
    def chars(text: str) -> list[str]:
        """Every letter, digit or ideograph is a token."""
        return re.findall(r"\w", text.lower())

    def search(self, item: Item) -> list[Result]:
        """Top paragraphs with a positive score."""
        vocab = self.retriever.vocab_dict
        tokens = [c for c in self.chars(item.question) if c in vocab]
        if not tokens:
            return []
        scores = self.retriever.get_scores(tokens)
        order = np.argsort(-scores, kind="stable")[:TOP]
        return [Result(*self.paragraphs[i]) for i in order if scores[i] > 0]


def store_search(
    store: FactStore, *, hints: bool, min_confidence: float = MIN_CONFIDENCE
) -> Search:
    """Search the store with the question only, or with its topic/region as slot hints."""

    def run(item: Item) -> list[Result]:
        hits = store.search(
            item.question,
            topic=item.topic if hints else None,
            region=item.region if hints else None,
            k=TOP,
            min_confidence=min_confidence,
        )
        return [
            Result(h.fact.doc_id, h.fact.text + (h.fact.note or ""), h.confidence) for h in hits
        ]

    return run


def run_all(search: Search, items: Sequence[Item]) -> dict[str, list[Result]]:
    """Results for every item."""
    return {item.id: search(item) for item in items}


def report(store: FactStore, baseline: Baseline, items: list[Item]) -> dict[str, Any]:
    """All figures for the store (text only and with hints) and the baseline."""
    splits = {
        "evaluation": [i for i in items if i.split == "evaluation"],
        "calibration": [i for i in items if i.split == "calibration"],
        "all": items,
    }
    systems: dict[str, Search] = {
        "store": store_search(store, hints=False),
        "store_with_hints": store_search(store, hints=True),
        "baseline": baseline.search,
    }
    out: dict[str, Any] = {"min_confidence": MIN_CONFIDENCE, "items": len(items), "systems": {}}
    failures: dict[str, list[dict[str, Any]]] = {}
    for name, search in systems.items():
        runs = run_all(search, items)
        out["systems"][name] = {
            split: score(members, runs) for split, members in splits.items()
        } | {"latency": timed(search, items)}
        failures[name] = [_failure(i, runs[i.id]) for i in items if not _ok(i, runs[i.id])]
    out["failures"] = failures
    return out


def _ok(item: Item, results: list[Result]) -> bool:
    if not item.expected_doc:
        return not results
    return bool(results) and is_correct(item, results[0])


def _failure(item: Item, results: list[Result]) -> dict[str, Any]:
    top = results[0] if results else None
    return {
        "id": item.id,
        "split": item.split,
        "question": item.question,
        "expected_doc": item.expected_doc,
        "got_doc": top.doc_id if top else None,
        "got": top.text[:80] if top else None,
    }


def calibrate(store: FactStore, items: list[Item]) -> list[tuple[float, int, float, float]]:
    """Sweep the threshold on the calibration split: (t, correct decisions, hit@1, nothing)."""
    calib = [i for i in items if i.split == "calibration"]
    runs = run_all(store_search(store, hints=False, min_confidence=0.0), calib)
    rows = []
    for step in range(20, 96):
        t = step / 100
        kept = {i.id: [r for r in runs[i.id] if r.confidence >= t] for i in calib}
        s = score(calib, kept)
        good = round(s["hit@1"] * s["answerable"] + s["nothing_rate"] * s["unanswerable"])
        rows.append((t, good, s["hit@1"], s["nothing_rate"]))
    return rows


def recommend(rows: list[tuple[float, int, float, float]]) -> float:
    """Midpoint of the longest run of thresholds with the most correct decisions."""
    best = max(r[1] for r in rows)
    runs: list[list[float]] = []
    for t, good, _, _ in rows:
        if good == best and runs and abs(runs[-1][-1] + 0.01 - t) < 1e-9:
            runs[-1].append(t)
        elif good == best:
            runs.append([t])
    widest = max(runs, key=len)
    return (widest[0] + widest[-1]) / 2


_TIMING_SCRIPT = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from bot.facts import FactStore
t1 = time.perf_counter()
store = FactStore.load(Path(sys.argv[1]))
t2 = time.perf_counter()
store.warm_up()
t3 = time.perf_counter()
store.search("嘉康园一期入驻率")
t4 = time.perf_counter()
ms = lambda a, b: round((b - a) * 1000, 1)
print(json.dumps({"import_ms": ms(t0, t1), "load_ms": ms(t1, t2),
                  "warm_up_ms": ms(t2, t3), "first_search_ms": ms(t3, t4)}))
"""


def fresh_process_timings(index_path: Path, runs: int = 3) -> dict[str, float]:
    """Import, load, jieba warm-up and first search, each timed in a new interpreter (median)."""
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _TIMING_SCRIPT, str(index_path)],
            capture_output=True,
            check=True,
            cwd=ROOT,
            text=True,
        )
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {key: float(np.median([s[key] for s in samples])) for key in samples[0]}


def write_markdown(data: dict[str, Any], path: Path) -> None:
    """A short human-readable table of :func:`report`."""
    lines = [
        "# Retrieval benchmark",
        "",
        f"Generated by `.venv/bin/python -m bench.retrieval` over {data['items']} questions in "
        "`tests/data/retrieval.yml`; MIN_CONFIDENCE = "
        f"{data['min_confidence']}. Definitions: `bench/retrieval.py`, `docs/fact-store.md`.",
        "",
        "| system | split | answerable | hit@1 | hit@3 | MRR | unanswerable | nothing "
        "| false nothing |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, figures in data["systems"].items():
        for split in ("evaluation", "calibration", "all"):
            s = figures[split]
            lines.append(
                f"| {name} | {split} | {s['answerable']} | {s['hit@1']:.3f} | {s['hit@3']:.3f} | "
                f"{s['mrr']:.3f} | {s['unanswerable']} | {s['nothing_rate']:.3f} "
                f"| {s['false_nothing_rate']:.3f} |"
            )
    lines += ["", "| system | p50 ms | p95 ms | max ms | samples |", "|---|---:|---:|---:|---:|"]
    for name, figures in data["systems"].items():
        lat = figures["latency"]
        lines.append(
            f"| {name} | {lat['p50_ms']} | {lat['p95_ms']} | {lat['max_ms']} | {lat['samples']} |"
        )
    fresh = data["fresh_process"]
    lines += [
        "",
        "Fresh interpreter (median of 3): import "
        f"{fresh['import_ms']} ms, FactStore.load {fresh['load_ms']} ms, jieba warm-up "
        f"{fresh['warm_up_ms']} ms, first search {fresh['first_search_ms']} ms.",
        "",
    ]
    fails = data["failures"]["store"]
    lines += [f"Store failures (text only): {len(fails)}", ""]
    lines += [
        f"- {f['id']} ({f['split']}) {f['question']} -> {f['got_doc'] or '[]'}" for f in fails
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point for ``python -m bench.retrieval``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--calibrate", action="store_true", help="sweep MIN_CONFIDENCE and exit")
    args = parser.parse_args(argv)
    items = load_items()
    with tempfile.TemporaryDirectory() as tmp:
        result = build_index(args.seeds, Path(tmp))
        store = FactStore.load(result.index_path).warm_up()
        fresh = {} if args.calibrate else fresh_process_timings(result.index_path)
    if args.calibrate:
        rows = calibrate(store, items)
        for t, good, hit1, nothing in rows:
            print(f"t={t:.2f} correct={good:3d} hit@1={hit1:.3f} nothing={nothing:.3f}")
        print(f"recommended MIN_CONFIDENCE = {recommend(rows):.3f} (midpoint of the best plateau)")
        return
    data = report(store, Baseline(args.seeds), items)
    data["fresh_process"] = fresh
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "retrieval.json").write_text(
        json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    write_markdown(data, RESULTS / "retrieval.md")
    for name, figures in data["systems"].items():
        ev, lat = figures["evaluation"], figures["latency"]
        print(
            f"{name:17s} eval hit@1={ev['hit@1']:.3f} hit@3={ev['hit@3']:.3f} mrr={ev['mrr']:.3f} "
            f"nothing={ev['nothing_rate']:.3f} p95={lat['p95_ms']}ms"
        )
    print("fresh process:", ", ".join(f"{k} {v}" for k, v in fresh.items()))


if __name__ == "__main__":
    main()

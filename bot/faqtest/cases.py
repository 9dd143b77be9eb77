"""Find case files, parse and validate them, and select cases by tag."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.faqtest.errors import CaseFileError, NoCasesError, Problem
from bot.faqtest.models import Case, Expect
from bot.faqtest.schema import describe, duplicate_keys, locate, problems

SUFFIXES = (".yml", ".yaml")


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories as their `*.yml`/`*.yaml` files (sorted, not recursive)."""
    files: list[Path] = []
    missing: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(Problem(path, "no such file or directory"))
    if missing:
        raise CaseFileError(missing)
    return list(dict.fromkeys(files))


def load_paths(paths: Iterable[Path]) -> list[Case]:
    """Every case under `paths`; raises one `CaseFileError` listing all bad files' problems."""
    files = collect_files(paths)
    if not files:
        raise NoCasesError("no case files (*.yml, *.yaml) found")
    cases: list[Case] = []
    found: list[Problem] = []
    for file in files:
        try:
            cases.extend(load_file(file))
        except CaseFileError as exc:
            found.extend(exc.problems)
    if found:
        raise CaseFileError(found)
    return cases


def load_file(file: Path) -> list[Case]:
    """The cases of one file, or `CaseFileError` with every problem found in it."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseFileError([Problem(file, f"cannot read: {exc}")]) from None
    return parse(text, file)


def parse(text: str, file: Path) -> list[Case]:
    """Parse and validate the YAML `text` of `file` (the name is used in messages only)."""
    root, doc = _compose(text, file)
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else f"a {type(doc).__name__}, not a mapping"
        hint = "it must be a mapping with `version: 1` and `cases:`"
        raise CaseFileError([Problem(file, f"the file is {kind}: {hint}", locate(root, []))])
    found = [
        Problem(file, "key written twice (YAML keeps only the last)", line, *describe(doc, path))
        for path, line in duplicate_keys(root)
    ]
    found += problems(doc, root, file)
    if not found:
        found += _duplicate_ids(doc["cases"], root, file)
    if found:
        raise CaseFileError(sorted(found, key=lambda p: p.line or 0))
    return [_case(raw, file, locate(root, ["cases", i])) for i, raw in enumerate(doc["cases"])]


def select(cases: Sequence[Case], tags: Collection[str] | None) -> list[Case]:
    """Cases having any of `tags` (all cases when `tags` is None); NoCasesError if none."""
    chosen = list(cases) if tags is None else [c for c in cases if set(c.tags) & set(tags)]
    if not chosen:
        which = f" with tags {', '.join(sorted(tags))}" if tags is not None else ""
        raise NoCasesError(f"no case selected{which} (out of {len(cases)})")
    return chosen


def _compose(text: str, file: Path) -> tuple[yaml.Node | None, object]:
    # Keep the node tree as well as the data, so schema errors can name their line.
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        doc = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or "invalid YAML"
        if exc.context and exc.context_mark is not None:
            what += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise CaseFileError([Problem(file, f"YAML syntax error: {what}", line)]) from None
    except yaml.YAMLError as exc:
        raise CaseFileError([Problem(file, f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    return root, doc


def _duplicate_ids(
    cases: list[dict[str, Any]], root: yaml.Node | None, file: Path
) -> list[Problem]:
    first: dict[str, int] = {}
    found = []
    for i, case in enumerate(cases):
        line = locate(root, ["cases", i, "id"])
        if case["id"] in first:
            message = f"duplicate id (first used in case #{first[case['id']] + 1})"
            found.append(Problem(file, message, line, case["id"], "id"))
        first.setdefault(case["id"], i)
    return found


def _tuple(raw: dict[str, Any], key: str) -> tuple[str, ...] | None:
    return tuple(raw[key]) if key in raw else None


def _case(raw: dict[str, Any], file: Path, line: int | None) -> Case:
    turns = tuple(
        Expect(
            user=turn["user"],
            intent=turn.get("intent"),
            intent_any=_tuple(turn, "intent_any"),
            entities=dict(turn["entities"]) if "entities" in turn else None,
            answer_contains=_tuple(turn, "answer_contains"),
            answer_contains_any=_tuple(turn, "answer_contains_any"),
            answer_excludes=_tuple(turn, "answer_excludes"),
            sources=_tuple(turn, "sources"),
            escalated=turn.get("escalated"),
        )
        for turn in raw["turns"]
    )
    return Case(id=raw["id"], turns=turns, tags=tuple(raw.get("tags", ())), file=file, line=line)

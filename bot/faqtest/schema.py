"""The case-file JSON Schema, and schema errors turned into located `Problem`s."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError

from bot.faqtest.errors import Problem

SCHEMA_PATH = Path(__file__).with_name("faq-case.schema.json")
PathItem = str | int


@functools.cache
def case_schema() -> dict[str, Any]:
    """The JSON Schema of a case file (docs/faq-format.md documents it)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(case_schema())


def locate(node: yaml.Node | None, path: Sequence[PathItem], *, key: bool = False) -> int | None:
    """1-based line of the YAML node at `path` (of its key if `key`), or of its deepest parent."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, yaml.MappingNode):
            pair = next((kv for kv in node.value if kv[0].value == step), None)
            if pair is None:
                return line
            node = pair[0] if key and last else pair[1]
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value)
        ):
            node = node.value[step]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def field_name(path: Sequence[PathItem]) -> str:
    """`["turns", 0, "intent"]` -> `turns[0].intent`."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def describe(doc: object, path: Sequence[PathItem]) -> tuple[str | None, str | None]:
    """Split a document path into (case id, field within the case) for messages."""
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        case: object = None
        cases = doc.get("cases") if isinstance(doc, dict) else None
        if isinstance(cases, list) and path[1] < len(cases):
            case = cases[path[1]]
        case_id = case.get("id") if isinstance(case, dict) else None
        # A case without a usable id is named by its position, 1-based like the turns shown.
        name = case_id if isinstance(case_id, str) and case_id else f"#{path[1] + 1}"
        return name, field_name(path[2:]) or None
    return None, field_name(path) or None


def problems(doc: object, root: yaml.Node | None, file: Path) -> list[Problem]:
    """Every schema violation of `doc`, each with its line, case id and field."""
    found = [p for err in _validator().iter_errors(doc) for p in _problems(err, doc, root, file)]
    # `required` reports each missing key in its own error, each listing all of them.
    return sorted(dict.fromkeys(found), key=lambda p: (p.line or 0, p.field or ""))


def _problems(
    err: ValidationError, doc: object, root: yaml.Node | None, file: Path
) -> list[Problem]:
    path: list[PathItem] = list(err.absolute_path)
    instance = err.instance if isinstance(err.instance, dict) else {}
    subschema = err.schema if isinstance(err.schema, dict) else {}
    expected = err.validator_value if isinstance(err.validator_value, list) else []
    if err.validator == "additionalProperties":
        # One problem per unknown key, located on the key itself.
        allowed = ", ".join(subschema.get("properties", {}))
        return [
            Problem(
                file,
                f"unknown field (allowed: {allowed})",
                locate(root, [*path, str(extra)], key=True),
                *describe(doc, [*path, str(extra)]),
            )
            for extra in instance
            if extra not in subschema.get("properties", {})
        ]
    if err.validator == "required":
        # A missing key has no line of its own: point at the object that lacks it.
        return [
            Problem(
                file, "required field is missing", locate(root, path), *describe(doc, [*path, k])
            )
            for k in expected
            if k not in instance
        ]
    message = err.message
    if err.validator == "const":
        message = f"must be {err.validator_value!r}, got {err.instance!r}"
    return [Problem(file, message, locate(root, path), *describe(doc, path))]


def duplicate_keys(root: yaml.Node | None) -> Iterator[tuple[list[PathItem], int]]:
    """(path, line) of every mapping key written twice: YAML would keep only the last."""
    stack: list[tuple[yaml.Node, list[PathItem]]] = [(root, [])] if root is not None else []
    while stack:
        node, path = stack.pop()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value in seen:
                    yield [*path, key.value], key.start_mark.line + 1
                seen.add(str(key.value))
                stack.append((value, [*path, str(key.value)]))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, [*path, i]) for i, item in enumerate(node.value))

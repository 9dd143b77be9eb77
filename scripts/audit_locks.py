"""Offline vulnerability audit of the pinned lock files against an advisory snapshot.

pip-audit needs api.osv.dev or PyPI's JSON API, which this project's machines and CI
cannot reach. This script does the same check offline: it reads ``name==version`` pins
from one or more lock files and evaluates them against ``security/advisories.json``, a
snapshot of the PyPA Advisory Database (OSV format), with OSV's range semantics.

A finding fails the check (exit 1) unless ``security/accepted.yml`` accepts it with a
reason. A pinned package that the snapshot did not check fails the same way, unless it is
accepted as "not covered", so the audit cannot pass silently for packages it never looked
at. Exit 2 means bad usage or bad input (a missing or malformed file).

    python scripts/audit_locks.py --lock requirements/app.lock --lock requirements/rasa.lock \\
        --advisories security/advisories.json --accepted security/accepted.yml \\
        --markdown security/report.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

WILDCARD = "*"
_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)"
    r"(?:\[[^\]]*\])?\s*==\s*(?P<version>[^\s;#]+)\s*(?:;.*)?$"
)


class AuditError(Exception):
    """Bad usage or bad input: reported in one line, exit code 2."""


# --- lock files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    name: str  # canonical (PEP 503) name
    version: str
    line: int


def lock_label(path: Path) -> str:
    """``requirements/app.lock`` -> ``app``: the name accepted.yml uses for a lock."""
    return path.name.split(".", 1)[0]


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Yield (first line number, line) with backslash continuations joined."""
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(stripped)
        yield start, " ".join(buffer)
        buffer = []
    if buffer:
        yield start, " ".join(buffer)


def parse_lock(text: str, source: str = "<lock>") -> list[Pin]:
    """Read ``name==version`` pins; skip comments, blank lines and pip options.

    ``--hash`` and other options after a requirement are dropped. A requirement that is
    not pinned with ``==`` (or an editable/URL requirement) is an error: a lock file must
    pin every package for the audit to mean anything.
    """
    pins: list[Pin] = []
    seen: dict[str, int] = {}
    for number, line in _logical_lines(text):
        content = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not content:
            continue
        if content.startswith("-"):
            if content.startswith(("-e", "--editable")):
                raise AuditError(f"{source}:{number}: editable requirement is not pinned")
            continue  # an option line such as --index-url or --hash
        requirement = re.split(r"\s+--?[A-Za-z]", content, maxsplit=1)[0].strip()
        match = _PIN.match(requirement)
        if match is None:
            raise AuditError(f"{source}:{number}: not a name==version pin: {requirement!r}")
        name = canonicalize_name(match["name"])
        version = match["version"]
        try:
            Version(version)
        except InvalidVersion:
            raise AuditError(f"{source}:{number}: invalid version {version!r}") from None
        if name in seen:
            raise AuditError(f"{source}:{number}: {name} is pinned twice (line {seen[name]})")
        seen[name] = number
        pins.append(Pin(name, version, number))
    return pins


# --- OSV evaluation -----------------------------------------------------------------------


def _version(text: str, where: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise AuditError(f"{where}: invalid version {text!r}") from None


def _event_key(event: dict[str, str], where: str) -> Version:
    ((kind, value),) = event.items()
    if kind == "introduced" and value == "0":
        return Version("0")
    return _version(value, where)


def _events(range_: dict[str, Any], where: str) -> list[dict[str, str]]:
    events = range_.get("events")
    if not isinstance(events, list) or not events:
        raise AuditError(f"{where}: range has no events")
    checked: list[dict[str, str]] = []
    for event in events:
        if (
            not isinstance(event, dict)
            or len(event) != 1
            or not all(isinstance(v, str) for v in event.values())
        ):
            raise AuditError(f"{where}: malformed event {event!r}")
        kind = next(iter(event))
        if kind not in {"introduced", "fixed", "last_affected", "limit"}:
            raise AuditError(f"{where}: unknown event {kind!r}")
        checked.append(event)
    return checked


def in_range(version: Version, range_: dict[str, Any], where: str = "range") -> bool:
    """OSV's evaluation of one ECOSYSTEM range for one version.

    Events are taken in version order (``introduced: "0"`` first; a stable sort keeps
    the file's order for equal versions). ``introduced`` opens an affected interval,
    ``fixed`` closes it before that version, ``last_affected`` closes it after that
    version; ``limit`` caps the whole range.
    """
    events = sorted(_events(range_, where), key=lambda e: _event_key(e, where))
    affected = False
    for event in events:
        kind = next(iter(event))
        if kind == "limit":
            continue
        bound = _event_key(event, where)
        if kind == "introduced":
            if version >= bound:
                affected = True
        elif kind == "fixed":
            if version >= bound:
                affected = False
        elif kind == "last_affected" and version > bound:
            affected = False
    for event in events:
        if "limit" in event and version >= _event_key(event, where):
            return False
    return affected


def is_affected(version: str, affected: Sequence[dict[str, Any]], where: str = "advisory") -> bool:
    """True if any ``affected`` entry lists the version or has an ECOSYSTEM range with it."""
    parsed = _version(version, where)
    for entry in affected:
        for listed in entry.get("versions", []) or []:
            try:
                if Version(str(listed)) == parsed:
                    return True
            except InvalidVersion:
                if str(listed) == version:
                    return True
        for range_ in entry.get("ranges", []) or []:
            if range_.get("type") == "ECOSYSTEM" and in_range(parsed, range_, where):
                return True
    return False


def fixed_versions(version: str, affected: Sequence[dict[str, Any]]) -> list[str]:
    """The ``fixed`` versions above the pinned one, lowest first."""
    pinned = Version(version)
    found: set[Version] = set()
    for entry in affected:
        for range_ in entry.get("ranges", []) or []:
            if range_.get("type") != "ECOSYSTEM":
                continue
            for event in range_.get("events", []):
                value = event.get("fixed") if isinstance(event, dict) else None
                if isinstance(value, str):
                    try:
                        parsed = Version(value)
                    except InvalidVersion:
                        continue
                    if parsed > pinned:
                        found.add(parsed)
    return [str(v) for v in sorted(found)]


# --- snapshot and accepted risks ----------------------------------------------------------


@dataclass(frozen=True)
class Advisory:
    id: str
    aliases: tuple[str, ...]
    summary: str
    affected: tuple[dict[str, Any], ...]
    withdrawn: bool


@dataclass
class Snapshot:
    meta: dict[str, Any]
    packages: dict[str, list[Advisory]]  # only the packages that were checked
    not_covered: dict[str, str]  # package -> why the snapshot does not cover it


def load_snapshot(path: Path) -> Snapshot:
    data = _read_json(path)
    where = str(path)
    if not isinstance(data, dict) or not isinstance(data.get("packages"), dict):
        raise AuditError(f"{where}: expected an object with a 'packages' object")
    packages: dict[str, list[Advisory]] = {}
    for name, entry in data["packages"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("advisories"), list):
            raise AuditError(f"{where}: package {name!r} has no 'advisories' list")
        advisories: list[Advisory] = []
        for raw in entry["advisories"]:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise AuditError(f"{where}: package {name!r} has an advisory without an id")
            affected = raw.get("affected")
            if not isinstance(affected, list):
                raise AuditError(f"{where}: {raw['id']} has no 'affected' list")
            advisory = Advisory(
                id=raw["id"],
                aliases=tuple(str(a) for a in raw.get("aliases", [])),
                summary=str(raw.get("summary", "")),
                affected=tuple(affected),
                withdrawn=bool(raw.get("withdrawn")),
            )
            for entry_ in advisory.affected:  # validate every range once, up front
                for range_ in entry_.get("ranges", []) or []:
                    if range_.get("type") == "ECOSYSTEM":
                        in_range(Version("0"), range_, f"{where}: {advisory.id}")
            advisories.append(advisory)
        packages[canonicalize_name(name)] = advisories
    not_covered_raw = data.get("not_covered", {})
    if not isinstance(not_covered_raw, dict):
        raise AuditError(f"{where}: 'not_covered' must be an object")
    not_covered = {str(canonicalize_name(k)): str(v) for k, v in not_covered_raw.items()}
    meta = data.get("meta", {})
    return Snapshot(meta if isinstance(meta, dict) else {}, packages, not_covered)


@dataclass
class Acceptance:
    package: str
    lock: str
    reason: str
    id: str | None = None  # None for a "not covered" acceptance
    used: bool = field(default=False, compare=False)

    def describe(self) -> str:
        what = self.id if self.id is not None else "not covered"
        return f"{self.package} ({self.lock}) {what}"


def load_accepted(path: Path) -> tuple[list[Acceptance], list[Acceptance]]:
    """Return (accepted findings, accepted uncovered packages)."""
    where = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuditError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise AuditError(f"{where}: not valid YAML: {_one_line(exc)}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AuditError(f"{where}: expected a mapping with 'accepted' and 'not_covered'")
    unknown = set(data) - {"accepted", "not_covered"}
    if unknown:
        raise AuditError(f"{where}: unknown key(s): {', '.join(sorted(map(str, unknown)))}")
    findings = [
        _acceptance(item, where, "accepted", True) for item in _list(data, "accepted", where)
    ]
    uncovered = [
        _acceptance(item, where, "not_covered", False) for item in _list(data, "not_covered", where)
    ]
    return findings, uncovered


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise AuditError(f"{where}: '{key}' must be a list")
    return value


def _acceptance(item: Any, where: str, section: str, needs_id: bool) -> Acceptance:
    if not isinstance(item, dict):
        raise AuditError(f"{where}: every '{section}' entry must be a mapping")
    label = item.get("id", item.get("package", "?"))
    required = ["package", "lock", "reason"] + (["id"] if needs_id else [])
    for key in required:
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise AuditError(f"{where}: '{section}' entry {label!r} needs a non-empty '{key}'")
    return Acceptance(
        package=canonicalize_name(item["package"]),
        lock=item["lock"],
        reason=" ".join(item["reason"].split()),
        id=item["id"] if needs_id else None,
    )


# --- the audit ----------------------------------------------------------------------------


@dataclass
class Finding:
    lock: str
    package: str
    version: str
    id: str  # an advisory id, or "NOT COVERED"
    aliases: tuple[str, ...]
    fixed: list[str]
    summary: str
    accepted_by: Acceptance | None = None

    @property
    def accepted(self) -> bool:
        return self.accepted_by is not None


NOT_COVERED = "NOT COVERED"


def audit(
    locks: Sequence[tuple[str, list[Pin]]],
    snapshot: Snapshot,
    accepted: Sequence[Acceptance],
    accepted_uncovered: Sequence[Acceptance],
) -> list[Finding]:
    findings: list[Finding] = []
    for label, pins in locks:
        for pin in pins:
            advisories = snapshot.packages.get(pin.name)
            if advisories is None:
                reason = snapshot.not_covered.get(pin.name, "not in the advisory snapshot")
                finding = Finding(label, pin.name, pin.version, NOT_COVERED, (), [], reason)
                finding.accepted_by = _match_uncovered(finding, accepted_uncovered)
                findings.append(finding)
                for acceptance in accepted:  # a package-wide acceptance waits for coverage
                    if (acceptance.package, acceptance.lock) == (pin.name, label):
                        acceptance.used = acceptance.used or acceptance.id == WILDCARD
                continue
            for advisory in advisories:
                where = f"{advisory.id} ({pin.name})"
                if advisory.withdrawn or not is_affected(pin.version, advisory.affected, where):
                    continue
                finding = Finding(
                    label,
                    pin.name,
                    pin.version,
                    advisory.id,
                    advisory.aliases,
                    fixed_versions(pin.version, advisory.affected),
                    advisory.summary,
                )
                finding.accepted_by = _match(finding, accepted)
                findings.append(finding)
    return findings


def _match(finding: Finding, accepted: Sequence[Acceptance]) -> Acceptance | None:
    """An exact id (or alias) acceptance wins over a package-wide ``id: "*"`` one."""
    names = {finding.id, *finding.aliases}
    candidates = [a for a in accepted if a.package == finding.package and a.lock == finding.lock]
    for acceptance in candidates:
        if acceptance.id in names:
            acceptance.used = True
            return acceptance
    for acceptance in candidates:
        if acceptance.id == WILDCARD:
            acceptance.used = True
            return acceptance
    return None


def _match_uncovered(finding: Finding, accepted: Sequence[Acceptance]) -> Acceptance | None:
    for acceptance in accepted:
        if acceptance.package == finding.package and acceptance.lock == finding.lock:
            acceptance.used = True
            return acceptance
    return None


# --- output -------------------------------------------------------------------------------


def _cve(finding: Finding) -> str:
    cves = [a for a in finding.aliases if a.startswith("CVE-")]
    return ", ".join(cves) or ", ".join(finding.aliases) or "-"


def format_table(findings: Sequence[Finding]) -> str:
    header = ("lock", "package", "version", "advisory", "aliases", "fixed in", "status")
    rows = [
        (
            f.lock,
            f.package,
            f.version,
            f.id,
            _cve(f),
            ", ".join(f.fixed) or "-",
            "accepted" if f.accepted else "NOT ACCEPTED",
        )
        for f in findings
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(
    findings: Sequence[Finding],
    locks: Sequence[tuple[str, Path, list[Pin]]],
    snapshot: Snapshot,
    snapshot_path: Path,
    accepted_path: Path,
) -> str:
    meta = snapshot.meta
    source = meta.get("source", {}) if isinstance(meta.get("source"), dict) else {}
    lock_args = " ".join(f"--lock {p.as_posix()}" for _, p, _ in locks)
    out = [
        "# Dependency vulnerability report",
        "",
        "Generated by `scripts/audit_locks.py` (do not edit by hand):",
        "",
        "```",
        f"python scripts/audit_locks.py {lock_args} \\",
        f"    --advisories {snapshot_path.as_posix()} --accepted {accepted_path.as_posix()} "
        "--markdown <this file>",
        "```",
        "",
        f"Snapshot: `{snapshot_path.as_posix()}`, taken {meta.get('date', '?')} from "
        f"{source.get('repository', '?')}"
        + (f" and its mirror {source['mirror']}" if source.get("mirror") else "")
        + f" ({source.get('licence', '?')}); "
        f"{len(snapshot.packages)} packages checked, {len(snapshot.not_covered)} not covered. "
        f"Accepted risks: `{accepted_path.as_posix()}`.",
        "",
    ]
    for label, path, pins in locks:
        mine = [f for f in findings if f.lock == label]
        advisories = [f for f in mine if f.id != NOT_COVERED]
        uncovered = [f for f in mine if f.id == NOT_COVERED]
        bad = sum(not f.accepted for f in mine)
        out += [
            f"## {label} (`{path.as_posix()}`)",
            "",
            f"{len(pins)} pinned packages; {len(advisories)} advisory findings, "
            f"{len(uncovered)} packages not covered by the snapshot; "
            f"{bad} not accepted.",
            "",
        ]
        if advisories:
            out += [
                "| package | version | advisory | CVE / aliases | fixed in | status | reason |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for f in advisories:
                status = "accepted" if f.accepted else "**NOT ACCEPTED**"
                reason = f.accepted_by.reason if f.accepted_by else f.summary
                out.append(
                    f"| {f.package} | {f.version} | {f.id} | {_md(_cve(f))} | "
                    f"{', '.join(f.fixed) or '-'} | {status} | {_md(reason)} |"
                )
            out.append("")
        if uncovered:
            out += [
                "Not covered by the snapshot:",
                "",
                "| package | version | status | reason |",
                "| --- | --- | --- | --- |",
            ]
            for f in uncovered:
                status = "accepted" if f.accepted else "**NOT ACCEPTED**"
                reason = f.accepted_by.reason if f.accepted_by else f.summary
                out.append(f"| {f.package} | {f.version} | {status} | {_md(reason)} |")
            out.append("")
    return "\n".join(out)


# --- command line -------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AuditError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AuditError(f"{path}: not UTF-8 text") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise AuditError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 with usage; keep it, one line
        self.exit(2, f"audit_locks: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--lock", action="append", type=Path, required=True, help="lock file (repeatable)"
    )
    parser.add_argument("--advisories", type=Path, required=True, help="advisory snapshot (JSON)")
    parser.add_argument("--accepted", type=Path, required=True, help="accepted risks (YAML)")
    parser.add_argument("--markdown", type=Path, help="write the findings report here")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    labels = [lock_label(p) for p in args.lock]
    if len(set(labels)) != len(labels):
        raise AuditError("two --lock files have the same name: " + ", ".join(labels))
    locks = [(lock_label(p), p, parse_lock(_read_text(p), str(p))) for p in args.lock]
    snapshot = load_snapshot(args.advisories)
    accepted, accepted_uncovered = load_accepted(args.accepted)
    findings = audit(
        [(label, pins) for label, _, pins in locks], snapshot, accepted, accepted_uncovered
    )

    if findings:
        print(format_table(findings))
        print()
    for acceptance in [*accepted, *accepted_uncovered]:
        if not acceptance.used and acceptance.lock in labels:
            print(f"note: accepted.yml entry matches nothing: {acceptance.describe()}")
    if args.markdown is not None:
        report = format_markdown(findings, locks, snapshot, args.advisories, args.accepted)
        try:
            args.markdown.write_text(report, encoding="utf-8")
        except OSError as exc:
            raise AuditError(f"{args.markdown}: cannot write: {exc.strerror or exc}") from None

    pinned = sum(len(pins) for _, _, pins in locks)
    bad = [f for f in findings if not f.accepted]
    print(
        f"{pinned} pinned packages in {len(locks)} lock file(s); {len(findings)} findings, "
        f"{len(findings) - len(bad)} accepted, {len(bad)} not accepted."
    )
    if bad:
        for f in bad:
            what = "is not covered by the snapshot" if f.id == NOT_COVERED else f"has {f.id}"
            print(f"FAIL: {f.package}=={f.version} ({f.lock}) {what}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except AuditError as exc:
        print(f"audit_locks: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

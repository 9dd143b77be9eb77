"""scripts/audit_locks.py: OSV range evaluation, lock parsing, exit codes, the real locks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from scripts import audit_locks as al

ROOT = Path(__file__).resolve().parents[2]


def _range(*events: tuple[str, str]) -> dict[str, Any]:
    return {"type": "ECOSYSTEM", "events": [{kind: value} for kind, value in events]}


# --- range evaluation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0.1", True),
        ("1.9.9", True),
        ("2.0.0rc1", True),  # a prerelease of the fixed version is still affected
        ("2.0.0", False),
        ("2.0.1", False),
    ],
)
def test_introduced_zero_fixed(version: str, expected: bool) -> None:
    assert (
        al.in_range(Version(version), _range(("introduced", "0"), ("fixed", "2.0.0"))) is expected
    )


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.4", False), ("1.5", True), ("1.8.4", True), ("1.8.4.post1", False), ("1.9", False)],
)
def test_introduced_last_affected(version: str, expected: bool) -> None:
    range_ = _range(("introduced", "1.5"), ("last_affected", "1.8.4"))
    assert al.in_range(Version(version), range_) is expected


def test_introduced_without_end_affects_everything_after() -> None:
    range_ = _range(("introduced", "3.0"))
    assert al.in_range(Version("99.0"), range_)
    assert not al.in_range(Version("2.9"), range_)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("4.3.5", True),
        ("4.3.6", False),
        ("4.3.9", False),
        ("4.4.0", True),
        ("4.4.3", False),
        ("4.5.2", True),
        ("4.6.0", False),
    ],
)
def test_several_intervals_in_one_range(version: str, expected: bool) -> None:
    range_ = _range(
        ("introduced", "0"),
        ("fixed", "4.3.6"),
        ("introduced", "4.4.0"),
        ("fixed", "4.4.3"),
        ("introduced", "4.5.0"),
        ("fixed", "4.5.3"),
    )
    assert al.in_range(Version(version), range_) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("1.26.16", True), ("1.26.17", False), ("2.0.5", True), ("2.0.6", False)],
)
def test_events_are_taken_in_version_order_not_file_order(version: str, expected: bool) -> None:
    # As urllib3's PYSEC-2023-192 writes them: the 2.x interval first, then "introduced: 0".
    range_ = _range(
        ("introduced", "2.0.0"), ("fixed", "2.0.6"), ("introduced", "0"), ("fixed", "1.26.17")
    )
    assert al.in_range(Version(version), range_) is expected


def test_limit_caps_the_range() -> None:
    range_ = _range(("introduced", "0"), ("limit", "5.0"))
    assert al.in_range(Version("4.9"), range_)
    assert not al.in_range(Version("5.0"), range_)


def test_multiple_ranges_and_entries() -> None:
    # pydantic's PYSEC-2021-47: three ranges, any of them counts.
    affected = [
        {
            "ranges": [
                _range(("introduced", "1.8"), ("fixed", "1.8.2")),
                _range(("introduced", "1.7"), ("fixed", "1.7.4")),
                _range(("introduced", "0"), ("fixed", "1.6.2")),
            ]
        }
    ]
    assert al.is_affected("1.8.1", affected)
    assert al.is_affected("1.7.3", affected)
    assert al.is_affected("1.6.1", affected)
    assert not al.is_affected("1.6.2", affected)
    assert not al.is_affected("1.7.4", affected)
    assert not al.is_affected("1.8.2", affected)


def test_versions_list_and_non_ecosystem_ranges() -> None:
    affected = [
        {
            "ranges": [{"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}],
            "versions": ["1.0", "1.1rc1"],
        }
    ]
    assert al.is_affected("1.0.0", affected)  # compared as versions, not strings
    assert al.is_affected("1.1rc1", affected)
    assert not al.is_affected("1.1", affected)
    assert not al.is_affected("0.9", affected)  # the GIT range is ignored


def test_an_entry_without_ranges_or_versions_matches_nothing() -> None:
    # Some records name the package but give neither ranges nor versions.
    assert not al.is_affected("1.0", [{}])
    assert not al.is_affected("1.0", [{"ranges": [], "versions": []}])


def test_fixed_versions_lists_only_fixes_above_the_pin() -> None:
    affected = [
        {
            "ranges": [
                _range(
                    ("introduced", "0"),
                    ("fixed", "1.26.18"),
                    ("introduced", "2.0"),
                    ("fixed", "2.0.7"),
                )
            ]
        }
    ]
    assert al.fixed_versions("2.0.3", affected) == ["2.0.7"]
    assert al.fixed_versions("1.0", affected) == ["1.26.18", "2.0.7"]


def test_malformed_range_is_a_data_error() -> None:
    with pytest.raises(al.AuditError, match="invalid version"):
        al.in_range(Version("1.0"), _range(("introduced", "0"), ("fixed", "not a version!")))
    with pytest.raises(al.AuditError, match="unknown event"):
        al.in_range(Version("1.0"), {"type": "ECOSYSTEM", "events": [{"broken": "1.0"}]})


# --- lock parsing -------------------------------------------------------------------------


def test_parse_lock_reads_pins_and_skips_the_rest() -> None:
    text = (
        "# generated by uv\n"
        "--index-url https://example.invalid/simple\n"
        "Foo_Bar==1.0  # via baz\n"
        "    # via other\n"
        "\n"
        "hashed==2.0 \\\n"
        "    --hash=sha256:aaaa \\\n"
        "    --hash=sha256:bbbb\n"
        "extra[socks]==3.0 ; python_version >= '3.10'\n"
    )
    pins = al.parse_lock(text)
    assert [(p.name, p.version) for p in pins] == [
        ("foo-bar", "1.0"),
        ("hashed", "2.0"),
        ("extra", "3.0"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-e ./local\n", "editable"),
        ("requests>=2\n", "not a name==version pin"),
        ("a==1\nA==2\n", "pinned twice"),
        ("a==not-a-version!\n", "invalid version"),
    ],
)
def test_parse_lock_rejects_what_it_cannot_audit(text: str, message: str) -> None:
    with pytest.raises(al.AuditError, match=message):
        al.parse_lock(text, "x.lock")


def test_the_real_locks_parse() -> None:
    app = al.parse_lock((ROOT / "requirements/app.lock").read_text(), "app.lock")
    rasa = al.parse_lock((ROOT / "requirements/rasa.lock").read_text(), "rasa.lock")
    assert ("aiohttp", "3.9.5") in {(p.name, p.version) for p in rasa}
    assert len(app) > 100
    assert len(rasa) > 100


# --- command line and exit codes ----------------------------------------------------------


def _advisory(adv_id: str, fixed: str, aliases: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": adv_id,
        "aliases": aliases or [],
        "summary": f"summary of {adv_id}",
        "affected": [{"ranges": [_range(("introduced", "0"), ("fixed", fixed))]}],
    }


def _files(
    tmp_path: Path,
    *,
    lock: str = "foo==1.0\nbar==2.0\n",
    packages: dict[str, list[dict[str, Any]]] | None = None,
    accepted: str = "accepted: []\nnot_covered: []\n",
    not_covered: dict[str, str] | None = None,
) -> list[str]:
    if packages is None:
        packages = {"foo": [_advisory("PYSEC-1", "1.1", ["CVE-2020-1"])], "bar": []}
    snapshot = {
        "meta": {"date": "2026-11-25", "source": {"repository": "test", "licence": "CC-BY-4.0"}},
        "packages": {
            name: {"advisory_files": len(a), "advisories": a} for name, a in packages.items()
        },
        "not_covered": not_covered or {},
    }
    (tmp_path / "app.lock").write_text(lock)
    (tmp_path / "adv.json").write_text(json.dumps(snapshot))
    (tmp_path / "accepted.yml").write_text(accepted)
    return [
        "--lock",
        str(tmp_path / "app.lock"),
        "--advisories",
        str(tmp_path / "adv.json"),
        "--accepted",
        str(tmp_path / "accepted.yml"),
        "--markdown",
        str(tmp_path / "report.md"),
    ]


def test_unaccepted_finding_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert al.main(_files(tmp_path)) == 1
    out, err = capsys.readouterr()
    assert "PYSEC-1" in out
    assert "CVE-2020-1" in out
    assert "1.1" in out
    assert "NOT ACCEPTED" in out
    assert "FAIL: foo==1.0 (app) has PYSEC-1" in err
    assert "**NOT ACCEPTED**" in (tmp_path / "report.md").read_text()


def test_accepted_finding_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted = "accepted:\n  - {id: PYSEC-1, package: foo, lock: app, reason: not used here}\n"
    assert al.main(_files(tmp_path, accepted=accepted)) == 0
    assert "1 accepted, 0 not accepted" in capsys.readouterr().out
    assert "not used here" in (tmp_path / "report.md").read_text()


def test_accepted_file_may_share_a_reason_through_a_yaml_anchor(tmp_path: Path) -> None:
    packages = {"foo": [_advisory("PYSEC-1", "1.1"), _advisory("PYSEC-2", "1.2")], "bar": []}
    accepted = (
        "accepted:\n"
        "  - {id: PYSEC-1, package: foo, lock: app, reason: &foo one reason for both}\n"
        "  - {id: PYSEC-2, package: foo, lock: app, reason: *foo}\n"
    )
    assert al.main(_files(tmp_path, packages=packages, accepted=accepted)) == 0
    assert (tmp_path / "report.md").read_text().count("one reason for both") == 2


def test_acceptance_by_alias_and_for_the_right_lock_only(tmp_path: Path) -> None:
    by_alias = "accepted:\n  - {id: CVE-2020-1, package: foo, lock: app, reason: r}\n"
    assert al.main(_files(tmp_path, accepted=by_alias)) == 0
    other_lock = "accepted:\n  - {id: PYSEC-1, package: foo, lock: rasa, reason: r}\n"
    assert al.main(_files(tmp_path, accepted=other_lock)) == 1


def test_wildcard_accepts_every_advisory_of_the_package(tmp_path: Path) -> None:
    packages = {"foo": [_advisory("PYSEC-1", "1.1"), _advisory("PYSEC-2", "3.0")], "bar": []}
    wildcard = 'accepted:\n  - {id: "*", package: foo, lock: app, reason: r}\n'
    assert al.main(_files(tmp_path, packages=packages, accepted=wildcard)) == 0
    only_one = "accepted:\n  - {id: PYSEC-1, package: foo, lock: app, reason: r}\n"
    assert al.main(_files(tmp_path, packages=packages, accepted=only_one)) == 1


def test_fixed_and_withdrawn_advisories_are_not_findings(tmp_path: Path) -> None:
    withdrawn = _advisory("PYSEC-2", "9.0") | {"withdrawn": "2023-01-01T00:00:00Z"}
    packages = {"foo": [_advisory("PYSEC-1", "1.0"), withdrawn], "bar": []}
    assert al.main(_files(tmp_path, packages=packages)) == 0


def test_uncovered_package_exits_1_unless_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packages: dict[str, list[dict[str, Any]]] = {"foo": []}  # bar was never checked
    assert al.main(_files(tmp_path, packages=packages)) == 1
    assert "bar==2.0 (app) is not covered by the snapshot" in capsys.readouterr().err
    accepted = "not_covered:\n  - {package: bar, lock: app, reason: checked elsewhere}\n"
    assert al.main(_files(tmp_path, packages=packages, accepted=accepted)) == 0


@pytest.mark.parametrize(
    ("target", "content", "message"),
    [
        ("adv.json", "{not json", "not valid JSON"),
        ("adv.json", '{"packages": []}', "'packages' object"),
        ("accepted.yml", "accepted: [", "not valid YAML"),
        (
            "accepted.yml",
            "accepted:\n  - {id: X, package: foo, lock: app}\n",
            "needs a non-empty 'reason'",
        ),
        ("app.lock", "foo>=1\n", "not a name==version pin"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, content: str, message: str
) -> None:
    args = _files(tmp_path)
    (tmp_path / target).write_text(content)
    assert al.main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _files(tmp_path)
    (tmp_path / "adv.json").unlink()
    assert al.main(args) == 2
    assert "cannot read" in capsys.readouterr().err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        al.main(["--lock", "x.lock"])
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err


# --- the real lock files, snapshot and accepted risks (what CI runs) ----------------------


def test_real_locks_pass_with_the_real_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = al.main(
        [
            "--lock",
            str(ROOT / "requirements/app.lock"),
            "--lock",
            str(ROOT / "requirements/rasa.lock"),
            "--advisories",
            str(ROOT / "security/advisories.json"),
            "--accepted",
            str(ROOT / "security/accepted.yml"),
            "--markdown",
            str(tmp_path / "report.md"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "0 not accepted" in out


def test_the_real_snapshot_covers_every_pinned_package() -> None:
    snapshot = al.load_snapshot(ROOT / "security/advisories.json")
    for lock in ("requirements/app.lock", "requirements/rasa.lock"):
        pins = al.parse_lock((ROOT / lock).read_text(), lock)
        missing = [
            p.name
            for p in pins
            if p.name not in snapshot.packages and p.name not in snapshot.not_covered
        ]
        assert missing == [], f"{lock}: {missing}"

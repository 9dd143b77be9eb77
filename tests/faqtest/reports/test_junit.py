"""--junit: XML that parses, with correct counts, one suite per file, transcripts."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as SafeET

from bot.faqtest.reports import write_junit
from bot.faqtest.reports.junit import junit_tree
from bot.faqtest.runner import Run

COUNTS = ("tests", "failures", "errors", "skipped", "time")


def parse(path: Path) -> ET.Element:
    """Parse untrusted-looking XML the safe way (our report holds bot text)."""
    root = SafeET.parse(path).getroot()
    assert root is not None
    return root


def test_junit_parses_with_counts_per_file(sample_run: Run, tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    write_junit(out, sample_run)
    assert out.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = parse(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    suites = root.findall("testsuite")
    assert [Path(s.get("name", "")).name for s in suites] == ["basics.yml", "failing.yml"]
    for suite in suites:
        assert all(suite.get(attr) is not None for attr in COUNTS)
        assert int(suite.get("tests", "")) == len(suite.findall("testcase"))
        assert int(suite.get("failures", "")) == len(suite.findall("testcase/failure"))
    assert [s.get("failures") for s in suites] == ["0", "1"]


# Attribute sets of the common JUnit schema (Jenkins' junit-10.xsd); strict readers reject others.
ALLOWED = {
    "testsuites": {"name", "time", "tests", "failures", "disabled", "errors"},
    "testsuite": {
        "name",
        "tests",
        "failures",
        "errors",
        "time",
        "disabled",
        "skipped",
        "timestamp",
        "hostname",
        "id",
        "package",
    },
    "testcase": {"name", "assertions", "time", "classname", "status"},
    "failure": {"message", "type"},
}
REQUIRED = {"testsuite": {"name", "tests"}, "testcase": {"name"}}


def test_junit_uses_only_schema_attributes(sample_run: Run) -> None:
    root = junit_tree(sample_run).getroot()
    for element in root.iter():
        assert element.tag in ALLOWED
        assert set(element.attrib) <= ALLOWED[element.tag], element.tag
        assert REQUIRED.get(element.tag, set()) <= set(element.attrib)
        if element.tag in {"testsuites", "testsuite", "testcase"}:
            float(element.get("time", ""))


def test_junit_testcases_name_case_and_file_stem(sample_run: Run) -> None:
    root = junit_tree(sample_run).getroot()
    cases = root.findall("testsuite/testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("basics", "hello"),
        ("basics", "parks"),
        ("basics", "human"),
        ("failing", "wrong-intent"),
    ]
    [failure] = root.findall("testsuite/testcase/failure")
    assert failure.get("message", "").startswith(
        "turn 1: intent: expected goodbye, got greet (0.97)"
    )
    transcript = failure.text or ""
    assert "user:      你好" in transcript
    assert "reply:     您好！<b>我是小助手</b>" in transcript
    assert "intent:    greet (0.97)" in transcript


def test_junit_survives_control_characters(sample_run: Run, tmp_path: Path) -> None:
    # XML 1.0 cannot carry \x01 even escaped; it must be replaced, not break the file.
    result = sample_run.results[3]
    odd = dataclasses.replace(result, case=dataclasses.replace(result.case, file=Path("x\x01.yml")))
    out = tmp_path / "junit.xml"
    write_junit(out, dataclasses.replace(sample_run, results=[odd]))
    [suite] = parse(out).findall("testsuite")
    assert suite.get("name") == "x\ufffd.yml"

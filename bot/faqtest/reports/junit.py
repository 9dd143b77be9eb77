"""`--junit`: JUnit XML, one <testsuite> per case file and one <testcase> per case."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from bot.faqtest.models import CaseResult
from bot.faqtest.reports.transcript import transcript
from bot.faqtest.runner import Run

# XML 1.0 cannot carry most control characters, even escaped; a bot reply might contain one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _testcase(parent: ET.Element, result: CaseResult) -> None:
    # Only the attributes the common JUnit schema (Jenkins' junit-10.xsd) knows, so strict
    # readers accept the file; the case file and line are in the failure transcript.
    case = ET.SubElement(
        parent,
        "testcase",
        name=_clean(result.case.id),
        classname=_clean(result.case.file.stem),
        time=_seconds(result.seconds),
    )
    if not result.passed:
        failure = ET.SubElement(
            case, "failure", message=_clean("; ".join(result.failures)), type="FaqCheckFailed"
        )
        failure.text = _clean(transcript(result))


def junit_tree(run: Run) -> ET.ElementTree[ET.Element]:
    """The JUnit document of a run (counts on every suite and on the root)."""
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    host = socket.gethostname()
    failed = sum(not r.passed for r in run.results)
    root = ET.Element(
        "testsuites",
        name="bizbot faq-test",
        tests=str(len(run.results)),
        failures=str(failed),
        errors="0",
        time=_seconds(run.seconds),
    )
    ordered = sorted(run.results, key=lambda r: str(r.case.file))
    for n, (file, group) in enumerate(groupby(ordered, key=lambda r: r.case.file)):
        results = list(group)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_clean(str(file)),
            id=str(n),
            package=_clean(file.stem),
            tests=str(len(results)),
            failures=str(sum(not r.passed for r in results)),
            errors="0",
            skipped="0",
            time=_seconds(sum(r.seconds for r in results)),
            timestamp=stamp,
            hostname=host,
        )
        for result in results:
            _testcase(suite, result)
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(path: Path, run: Run) -> None:
    """Write the JUnit XML report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(run).write(path, encoding="utf-8", xml_declaration=True)

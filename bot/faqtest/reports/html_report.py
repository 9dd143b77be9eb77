"""`--html`: one self-contained page (inline CSS, the chart as a data: URI, no scripts)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from html import escape
from pathlib import Path

from bot.faqtest.models import CaseResult
from bot.faqtest.reports.chart import confusion_png
from bot.faqtest.reports.transcript import transcript
from bot.faqtest.runner import Run
from bot.faqtest.summary import Summary, Tally

_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:2rem;color:#222}
h1{margin-bottom:.2rem} .meta{color:#666} table{border-collapse:collapse;margin:.5rem 0 1.5rem}
th,td{border:1px solid #ddd;padding:.3rem .6rem;text-align:left} th{background:#f4f4f4}
td.num{text-align:right} .bar{background:#eee;width:8rem;height:.7rem;display:inline-block}
.bar span{background:#2e8b57;height:100%;display:block} .pass{color:#2e7d32} .fail{color:#c62828}
pre{background:#fafafa;border:1px solid #eee;padding:.8rem;white-space:pre-wrap}
details{margin:.6rem 0} summary{cursor:pointer;font-weight:600}
"""


def _rate_row(name: str, tally: Tally) -> str:
    pct = f"{tally.rate:.0%}"
    bar = f'<span class="bar"><span style="width:{tally.rate * 100:.1f}%"></span></span>'
    return (
        f"<tr><td>{escape(name)}</td><td class=num>{tally.passed}</td>"
        f"<td class=num>{tally.failed}</td><td class=num>{pct}</td><td>{bar}</td></tr>"
    )


def _rate_table(title: str, label: str, tallies: dict[str, Tally], empty: str) -> str:
    if not tallies:
        return f"<h2>{escape(title)}</h2><p>{escape(empty)}</p>"
    rows = "".join(_rate_row(name, t) for name, t in tallies.items())
    head = f"<tr><th>{escape(label)}</th><th>passed</th><th>failed</th><th>rate</th><th></th></tr>"
    return f"<h2>{escape(title)}</h2><table>{head}{rows}</table>"


def _confusion(summary: Summary) -> str:
    png = confusion_png(summary)
    if png is None:
        return "<h2>Intent confusion</h2><p>No turn declares an expected <code>intent</code>.</p>"
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    alt = "intent confusion matrix: expected intent per row, predicted intent per column"
    return f'<h2>Intent confusion</h2><img src="{uri}" alt="{escape(alt)}">'


def _cases_table(results: list[CaseResult]) -> str:
    rows = "".join(
        f"<tr><td>{escape(r.case.id)}</td><td>{escape(str(r.case.file))}</td>"
        f"<td>{escape(', '.join(r.case.tags))}</td>"
        f"<td class={'pass' if r.passed else 'fail'}>{'passed' if r.passed else 'failed'}</td>"
        f"<td class=num>{r.seconds:.2f}s</td></tr>"
        for r in results
    )
    head = "<tr><th>case</th><th>file</th><th>tags</th><th>result</th><th>time</th></tr>"
    return f"<h2>All cases</h2><table>{head}{rows}</table>"


def _failures(results: list[CaseResult]) -> str:
    failed = [r for r in results if not r.passed]
    if not failed:
        return "<h2>Failures</h2><p class=pass>None: every case passed.</p>"
    blocks = "".join(
        f"<details open><summary class=fail>{escape(r.case.id)}"
        f" <small>({escape(str(r.case.file))})</small></summary>"
        f"<ul>{''.join(f'<li>{escape(f)}</li>' for f in r.failures)}</ul>"
        f"<pre>{escape(transcript(r))}</pre></details>"
        for r in failed
    )
    return f"<h2>Failures ({len(failed)})</h2>{blocks}"


def render_html(run: Run, summary: Summary) -> str:
    """The whole report page; every piece of case or bot text is escaped."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = (
        f"{escape(run.url)} · {when} · {run.seconds:.1f}s · "
        f"<b>{escape(summary.line())}</b> · pass rate {summary.cases.rate:.1%}"
    )
    body = "".join(
        [
            _rate_table("Pass rate per tag", "tag", summary.by_tag, "No case has tags."),
            _rate_table(
                "Pass rate per expected intent (turns)",
                "intent",
                summary.by_intent,
                "No turn declares an expected intent.",
            ),
            _confusion(summary),
            _failures(run.results),
            _cases_table(run.results),
        ]
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        "<title>bizbot FAQ test report</title>"
        f"<style>{_CSS}</style></head><body><h1>bizbot FAQ test report</h1>"
        f'<p class="meta">{meta}</p>{body}</body></html>\n'
    )


def write_html(path: Path, run: Run, summary: Summary) -> None:
    """Write the HTML report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run, summary), "utf-8")

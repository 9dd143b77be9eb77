"""--html: one self-contained page with rates, the confusion image, escaped failures."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from bot.faqtest.reports.chart import confusion_png
from bot.faqtest.reports.html_report import render_html, write_html
from bot.faqtest.runner import Run
from bot.faqtest.summary import Summary

PNG = b"\x89PNG\r\n\x1a\n"


def test_html_is_self_contained_with_a_png_data_uri(
    sample_run: Run, summary: Summary, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    write_html(out, sample_run, summary)
    page = out.read_text("utf-8")
    [uri] = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert base64.b64decode(uri).startswith(PNG)
    # Nothing is fetched from elsewhere.
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<script" not in page.replace("&lt;script", "")


def test_html_has_rates_per_tag_and_intent(sample_run: Run, summary: Summary) -> None:
    page = render_html(sample_run, summary)
    assert "Pass rate per tag" in page
    assert "<td>negative</td><td class=num>0</td><td class=num>1</td><td class=num>0%</td>" in page
    assert (
        "<td>ask_park</td><td class=num>1</td><td class=num>0</td><td class=num>100%</td>" in page
    )
    assert "3 passed, 1 failed" in page


def test_html_escapes_user_and_bot_text(sample_run: Run, summary: Summary) -> None:
    page = render_html(sample_run, summary)
    assert "Failures (1)" in page
    # The bot's reply and the case's expectation both contain markup: shown, never rendered.
    assert "&lt;b&gt;我是小助手&lt;/b&gt;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>我是小助手" not in page
    assert "<script>" not in page


def test_no_declared_intent_means_no_chart(sample_run: Run) -> None:
    empty = Summary()
    assert confusion_png(empty) is None
    assert "No turn declares an expected <code>intent</code>" in render_html(sample_run, empty)


def test_chart_tolerates_non_ascii_intents() -> None:
    summary = Summary()
    summary.confusion[("问候", "greet")] += 2
    png = confusion_png(summary)
    assert png is not None
    assert png.startswith(PNG)

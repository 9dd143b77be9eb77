"""Reports of a run: the terminal, JSON, JUnit XML and a self-contained HTML page."""

from __future__ import annotations

from bot.faqtest.reports.json_report import report_dict, write_json
from bot.faqtest.reports.junit import junit_tree, write_junit
from bot.faqtest.reports.transcript import transcript

__all__ = ["junit_tree", "report_dict", "transcript", "write_json", "write_junit"]
# The HTML report lives in `bot.faqtest.reports.html_report`; it imports matplotlib, which
# costs a second, so it is imported only when --html asks for it.

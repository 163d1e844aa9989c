"""A report as a standalone HTML page: the Markdown (`render_markdown`) rendered by
markdown-it-py with raw HTML off, in a page with its title, charset and a small stylesheet.

Raw HTML is never passed through: the Markdown escapes every mark from data, and the
renderer is made with ``html=False`` besides, so a hostile reason such as
``<script>...</script>`` shows as text.

Example::

    Path("run-12.html").write_text(render_html(report), "utf-8")
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any, Final

from markdown_it import MarkdownIt

from rulebridge.runner.report._markdown import render_markdown
from rulebridge.runner.report._sections import report_sections

__all__ = ["render_html"]

_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em;
       padding: 0 1em; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.4em; border-bottom: 2px solid #ccc; padding-bottom: .3em; }
h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
tbody tr:nth-child(even) { background: #fafafa; }
"""


def render_html(
    report: Mapping[str, Any], *, counts: Mapping[str, Mapping[str, int]] | None = None
) -> str:
    """`report` as one HTML page (UTF-8, inline stylesheet), the run as its title.

    Args:
        report: the run's report (JSON, as stored); an older shape gives what it holds.
        counts: the store's effects of the run, for the changes of an older report.
    """
    sections = report_sections(report, counts)
    title = sections[0].title if sections else "rulebridge report"
    body = _renderer().render(render_markdown(report, counts=counts))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n{body}</body>\n</html>\n"
    )


def _renderer() -> MarkdownIt:
    """CommonMark with GitHub's tables and no raw HTML."""
    return MarkdownIt("commonmark", {"html": False}).enable("table")

"""A run's report: what it read, planned, wrote, skipped and left for a person.

The report is plain JSON, kept in the state store with its run (``rulebridge report RUN``
reads it back) and printed at the end of ``rulebridge run`` and ``rulebridge apply``. Its
sections (docs/runner.md, "History and reports"):

- ``run``: id, kind (night, live, apply, adopt), agency, ruleset (name, version, hash),
  start and end (ISO 8601 with offset), seconds, status, exit code, changes, phases;
- ``reference``: the plan's counts per entity and action, the outcomes applied, skips by
  rule, records the readers rejected, items for a person (``manual_items``, each with what
  to do);
- ``drift``: records the store held that Fixflo lacked, re-created or found;
- ``issues``: Fixflo issues read and reconciled into Alto, outcomes per kind, the cursor;
- ``warnings``: each with its rule id (G-07 settings, W-06, issues the ruleset cannot read);
- ``dead_letters``: those this run wrote, with their reasons and groups;
- ``api``: requests per system and endpoint, writes, retries, rate-limit waits;
- ``alert``: the alert hook, when it ran.

One section model (`report_sections`) is drawn three ways: on a terminal
(`render_report`), as Markdown (`render_markdown`) and as an HTML page (`render_html`), so
the three never disagree. A report of an older shape renders what it holds.

Example::

    render_report(report, Console())
    Path("run.md").write_text(render_markdown(report), "utf-8")
"""

from rulebridge.runner.report._html import render_html
from rulebridge.runner.report._items import (
    WRITES,
    changes_of,
    dead_letter_group,
    dead_letter_item,
    iso_time,
    kind_of,
    manual_item,
)
from rulebridge.runner.report._markdown import md_escape, render_markdown
from rulebridge.runner.report._sections import (
    EXIT_MEANINGS,
    Grid,
    Section,
    exit_words,
    report_sections,
)
from rulebridge.runner.report._table import render_report

__all__ = [
    "EXIT_MEANINGS",
    "WRITES",
    "Grid",
    "Section",
    "changes_of",
    "dead_letter_group",
    "dead_letter_item",
    "exit_words",
    "iso_time",
    "kind_of",
    "manual_item",
    "md_escape",
    "render_html",
    "render_markdown",
    "render_report",
    "report_sections",
]

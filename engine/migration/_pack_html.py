"""``agency-pack.html``: one standalone page with everything the agency must do.

Sections, with a table of contents: 1 Readiness, 2 Before the export (housekeeping items
and the before-export tasks), 3 Export day (the J-15 window between the export and the
go-live date; the export-day tasks), 4 After go-live (manual re-entry, grouped; the
after-go-live tasks, opening balances among them), 5 Reconciliation summary (counts, and
differences by rule with counts).

The page has an inline stylesheet, no script and no external resource. Everything from
data is written as escaped Markdown and rendered by markdown-it-py with raw HTML off, so a
hostile name such as ``<script>`` shows as text. Items are streamed from the listings and
rendered a chunk at a time, so the page's size does not decide the memory used.

Example::

    with open("agency-pack.html", "w", encoding="utf-8") as out:
        write_pack(out, Pack("jupix-alto", date(2025, 6, 2), summary, checklist, ...))
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import IO, Any, Final, Protocol

from markdown_it import MarkdownIt

from engine.migration._pack_listing import Listing, group_lines
from engine.migration._pack_text import RuleSummary, md_code, md_text
from engine.migration.report import MigrationReport

__all__ = ["PHASES", "SECTIONS", "ChecklistItem", "Pack", "write_pack"]

PHASES: Final = ("before-export", "export-day", "after-go-live")
"""The checklist's phases, in the order the agency meets them."""

SECTIONS: Final = (
    ("readiness", "Readiness"),
    ("before-export", "Before the export"),
    ("export-day", "Export day"),
    ("after-go-live", "After go-live"),
    ("reconciliation", "Reconciliation summary"),
)
"""Each section's element id and title, in page order."""

_CHUNK: Final = 32_000
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em;
       padding: 0 1em; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.5em; border-bottom: 2px solid #ccc; padding-bottom: .3em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
h4 { font-size: 1em; margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; }
code { font-size: .8em; color: #555; }
nav ol { line-height: 1.8; }
@media print { nav { display: none; } h2 { page-break-before: always; } }
"""


class ChecklistItem(Protocol):
    """A checklist task as the pack reads it (`engine.language.ChecklistTask` is one)."""

    @property
    def id(self) -> str:
        """The task's id."""

    @property
    def phase(self) -> str:
        """One of `PHASES`."""

    @property
    def summary(self) -> str:
        """What to do, in a line."""

    @property
    def detail(self) -> str | None:
        """How, in words, if the summary is not enough."""

    @property
    def rules(self) -> tuple[str, ...]:
        """The requirement or rule ids the task serves."""


@dataclass(frozen=True, slots=True)
class Pack:
    """What the pack is made of.

    Attributes:
        ruleset: The ruleset's name.
        as_of: The migration (go-live) date.
        summary: Each rule's summary (`rule_summaries`).
        checklist: The ruleset's tasks, each in one of `PHASES`.
        snapshot: The export's ``agency`` and ``exported_at`` (its manifest), if known.
        readiness: The readiness summary (``verdict``, ``reasons``, counts), if made.
        housekeeping: What to tidy in Jupix before the export, if evaluated.
        manual: What to re-enter in Alto by hand, if migrated.
        reconciliation: The migration's counts, if migrated.
    """

    ruleset: str
    as_of: date
    summary: RuleSummary
    checklist: Sequence[ChecklistItem] = ()
    snapshot: Mapping[str, Any] | None = None
    readiness: Mapping[str, Any] | None = None
    housekeeping: Listing | None = None
    manual: Listing | None = None
    reconciliation: MigrationReport | None = None


def write_pack(out: IO[str], pack: Pack) -> None:
    """Write `pack` as one standalone HTML page into `out`.

    Args:
        out: A text stream (UTF-8), written from start to end.
        pack: What to write; a part that is None says it was not made in this run.
    """
    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    title = f"Agency pack: {pack.ruleset}, go-live {pack.as_of.isoformat()}"
    out.write(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
    )
    out.write('<nav id="contents">\n<h2>Contents</h2>\n<ol>\n')
    for anchor, heading in SECTIONS:
        out.write(f'<li><a href="#{anchor}">{html.escape(heading)}</a></li>\n')
    out.write("</ol>\n</nav>\n")
    bodies = (_readiness, _before, _export_day, _after, _reconciliation)
    for number, ((anchor, heading), body) in enumerate(zip(SECTIONS, bodies, strict=True), 1):
        out.write(f'<section id="{anchor}">\n<h2>{number}. {html.escape(heading)}</h2>\n')
        _render(markdown, body(pack), out)
        out.write("</section>\n")
    out.write("</body>\n</html>\n")


def _render(markdown: MarkdownIt, lines: Iterable[str], out: IO[str]) -> None:
    """Render Markdown `lines` a chunk at a time, cutting only where a block may start (a
    heading, a bullet or a blank line), never inside a table."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        if size > _CHUNK and line.startswith(("- ", "#", "\n")):
            out.write(markdown.render("".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        out.write(markdown.render("".join(chunk)))


def _readiness(pack: Pack) -> Iterator[str]:
    found = pack.readiness
    if found is None:
        yield "No readiness summary was made in this run.\n"
        return
    verdict = found.get("verdict")
    if verdict is not None:
        yield f"**Verdict: {md_text(verdict)}**\n\n"
    for reason in _list(found.get("reasons")):
        yield f"- {md_text(_reason(reason))}\n"
    for warning in _list(found.get("warnings")):
        yield f"- Warning: {md_text(_words(warning))}\n"
    for key, value in found.items():
        if key in ("verdict", "reasons", "warnings", "ready"):
            continue
        yield f"\n### {md_text(_name(key).capitalize())}\n\n"
        yield from _facts(value)


def _facts(value: Any) -> Iterator[str]:
    """A readiness part as tables: a mapping's plain values as one, its lists of records
    each as one (counts of what a record lists, not every row: readiness.md has them)."""
    if isinstance(value, list):
        yield from _records(value)
        return
    if not isinstance(value, Mapping):
        yield f"{md_text(_words(value))}\n"
        return
    plain = [(k, v) for k, v in value.items() if not isinstance(v, Mapping | list)]
    if plain:
        yield from _table(("", ""), ((_name(k), _words(v)) for k, v in plain))
    for key, part in value.items():
        if isinstance(part, Mapping | list) and part:
            yield f"\n{md_text(_name(key).capitalize())}:\n\n"
            yield from _facts(part)


def _records(items: list[Any]) -> Iterator[str]:
    rows = [item for item in items if isinstance(item, Mapping)]
    if len(rows) < len(items) or not rows:
        yield from (f"- {md_text(_words(item))}\n" for item in items)
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    yield from _table(
        [_name(column) for column in columns],
        ([_count(row.get(column)) for column in columns] for row in rows),
    )


def _count(value: Any) -> str:
    return str(len(value)) if isinstance(value, list) else _words(value)


def _reason(reason: Any) -> str:
    if isinstance(reason, Mapping) and "reason" in reason:
        fix = f" Fix: {_words(reason['fix'])}" if reason.get("fix") else ""
        return f"{_words(reason['reason'])}.{fix}".replace("..", ".")
    return _words(reason)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _before(pack: Pack) -> Iterator[str]:
    yield from _tasks(pack, "before-export")
    yield from _listing(
        pack.housekeeping,
        pack.summary,
        "Housekeeping in Jupix",
        "Tidy these records in Jupix before the export is taken.",
        "Housekeeping was not evaluated in this run.",
    )


def _export_day(pack: Pack) -> Iterator[str]:
    snapshot = pack.snapshot or {}
    taken = snapshot.get("exported_at")
    agency = snapshot.get("agency")
    go_live = pack.as_of.isoformat()
    yield from _table(
        ("", ""),
        (
            ("agency", _words(agency) if agency else "not known"),
            ("the Jupix export was taken", _words(taken) if taken else "not known in this run"),
            ("go-live (the migration date)", go_live),
        ),
    )
    yield (
        f"\nJ-15: changes made in Jupix after the export was taken (record changes, viewings, "
        f"diary appointments) are not migrated. Note each one on the day and enter it in "
        f"Alto on {md_text(go_live)}.\n\n"
    )
    yield from _tasks(pack, "export-day")


def _after(pack: Pack) -> Iterator[str]:
    yield from _listing(
        pack.manual,
        pack.summary,
        "Manual re-entry in Alto",
        "Re-enter these by hand in Alto: they do not migrate.",
        "No migration ran in this run, so there is no manual re-entry list.",
    )
    yield from _tasks(pack, "after-go-live")


def _tasks(pack: Pack, phase: str) -> Iterator[str]:
    tasks = [task for task in pack.checklist if task.phase == phase]
    yield f"\n### Checklist ({len(tasks)})\n\n"
    if not tasks:
        yield "No task in this phase.\n"
    for task in tasks:
        rules = f" ({md_text(', '.join(task.rules))})" if task.rules else ""
        detail = f": {md_text(task.detail)}" if task.detail else ""
        yield f"- ☐ **{md_text(task.summary)}** {md_code(task.id)}{rules}{detail}\n"


def _listing(
    listing: Listing | None, summary: RuleSummary, title: str, lead: str, missing: str
) -> Iterator[str]:
    if listing is None:
        yield f"\n### {title}\n\n{missing}\n"
        return
    groups = listing.group_sizes()
    yield f"\n### {title} ({sum(groups.values())})\n\n"
    yield f"{lead}\n" if groups else "Nothing to do.\n"
    for group, size in groups.items():
        yield f"\n#### {md_text(group or '(no ' + listing.key + ')')} ({size})\n"
        yield from group_lines(listing, group, summary, level=5)


def _reconciliation(pack: Pack) -> Iterator[str]:
    report = pack.reconciliation
    if report is None:
        yield "No migration ran in this run, so there is nothing to reconcile.\n"
        return
    rows = (
        (
            entity.entity,
            entity.source,
            entity.target or "listed for a person",
            str(entity.source_count),
            str(entity.target_count),
        )
        for entity in report.entities
    )
    yield from _table(("entity", "from", "to", "read", "written or listed"), rows)
    differences = report.difference_counts()
    yield f"\n### Differences by rule ({sum(size for *_, size in differences)})\n\n"
    if not differences:
        yield "Every record migrated as it was.\n"
        return
    yield ("Each is explained record by record in reconciliation.md and reconciliation.json.\n\n")
    yield from _table(
        ("entity", "rule", "what the rule says", "change", "records"),
        (
            (entity, rule, pack.summary(rule, entity) or "", change, str(size))
            for entity, rule, change, size in differences
        ),
    )


def _table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[str]:
    yield "| " + " | ".join(md_text(cell) for cell in head) + " |\n"
    yield "|" + "---|" * len(head) + "\n"
    for row in rows:
        yield "| " + " | ".join(md_text(cell) for cell in row) + " |\n"


def _name(key: Any) -> str:
    return str(key).replace("_", " ")


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{_name(k)}: {_words(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value)
    return "" if value is None else str(value)

"""The one-off migration of a Jupix export into Alto, and its reports.

`migrate` runs a compiled ruleset over every source record; its `MigrationReport` accounts
for each one (migrated, merged, manual, not migrated, unreadable) and explains every count
difference by rule and record.

The agency's pack: listings (manual actions, housekeeping) as grouped Markdown
(`listing_lines`) and CSV (`write_listing_csv`), and one standalone HTML page with
everything the agency must do (`write_pack`).

`engine.migration.catch_up` compares a new migration with what an earlier one loaded (the
catch-up after go-live). `engine.migration._migrate` shows a migration run and its report read.
"""

from engine.migration._migrate import Emit, Excluded, Migration, fingerprint, migrate
from engine.migration._pack_html import PHASES, SECTIONS, ChecklistItem, Pack, write_pack
from engine.migration._pack_listing import (
    CSV_COLUMNS,
    Listing,
    MemoryListing,
    listing_lines,
    write_listing_csv,
)
from engine.migration._pack_text import RuleSummary, csv_cell, md_text, rule_summaries
from engine.migration.catch_up import (
    Baseline,
    CatchUpItem,
    FieldChange,
    catch_up_markdown,
    changed_fields,
    section_of,
)
from engine.migration.report import (
    Difference,
    EntityCount,
    Journal,
    MigrationReport,
    Outcome,
    listing_line,
    listing_markdown,
)

__all__ = [
    "CSV_COLUMNS",
    "PHASES",
    "SECTIONS",
    "Baseline",
    "CatchUpItem",
    "ChecklistItem",
    "Difference",
    "Emit",
    "EntityCount",
    "Excluded",
    "FieldChange",
    "Journal",
    "Listing",
    "MemoryListing",
    "Migration",
    "MigrationReport",
    "Outcome",
    "Pack",
    "RuleSummary",
    "catch_up_markdown",
    "changed_fields",
    "csv_cell",
    "fingerprint",
    "listing_line",
    "listing_lines",
    "listing_markdown",
    "md_text",
    "migrate",
    "rule_summaries",
    "section_of",
    "write_listing_csv",
    "write_pack",
]

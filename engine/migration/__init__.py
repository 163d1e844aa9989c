"""The one-off migration of a Jupix export into Alto, and its report.

`migrate` runs a compiled ruleset over every source record; its `MigrationReport` accounts
for each one (migrated, merged, manual, not migrated, unreadable) and explains every count
difference by rule and record.

`engine.migration.catch_up` compares a new migration with what an earlier one loaded (the
catch-up after go-live). `engine.migration._migrate` shows a migration run and its report read.
"""

from engine.migration._migrate import Emit, Excluded, Migration, fingerprint, migrate
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
    "Baseline",
    "CatchUpItem",
    "Difference",
    "Emit",
    "EntityCount",
    "Excluded",
    "FieldChange",
    "Journal",
    "Migration",
    "MigrationReport",
    "Outcome",
    "catch_up_markdown",
    "changed_fields",
    "fingerprint",
    "listing_line",
    "listing_markdown",
    "migrate",
    "section_of",
]

"""The one-off migration of a Jupix export into Alto, and its report.

`migrate` runs a compiled ruleset over every source record; its `MigrationReport` accounts
for each one (migrated, merged, manual, not migrated, unreadable) and explains every count
difference by rule and record.

`engine.migration._migrate` shows a migration run and its report read.
"""

from engine.migration._migrate import Emit, Excluded, Migration, fingerprint, migrate
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
    "Difference",
    "Emit",
    "EntityCount",
    "Excluded",
    "Journal",
    "Migration",
    "MigrationReport",
    "Outcome",
    "fingerprint",
    "listing_line",
    "listing_markdown",
    "migrate",
]

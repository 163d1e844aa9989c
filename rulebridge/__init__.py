"""The shell around the engine: ``rulebridge.cli`` (the ``rulebridge`` command, one module per
command, loaded lazily) and ``rulebridge.runner`` (the nightly job).

The private modules here (``_config``, ``_exits``, ``_snapshots``, ``_snapshot_io``) are
shared by both sub-packages; nothing is exported from this package itself. ``_exits`` is
the one table of exit codes, light enough for every command to import.
"""

from __future__ import annotations

__all__: list[str] = []

"""The shell around the engine: ``rulebridge.cli`` (the ``rulebridge`` command, one module per
command, loaded lazily) and ``rulebridge.runner`` (the nightly job).

The private modules here (``_config``, ``_snapshots``, ``_snapshot_io``) are shared by both
sub-packages; nothing is exported from this package itself.
"""

from __future__ import annotations

__all__: list[str] = []

"""Messages the TUI's widgets post up to their screen (method calls go down)."""

from __future__ import annotations

from textual.message import Message

__all__ = ["EventChosen"]


class EventChosen(Message):
    """A person chose a lifecycle event (by its button) to perform on the issue."""

    def __init__(self, event: str) -> None:
        self.event = event
        super().__init__()

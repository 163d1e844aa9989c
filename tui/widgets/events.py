"""The row of buttons for the events that are possible now, numbered as their keys."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.containers import HorizontalGroup
from textual.widgets import Button, Label

from engine.language.lifecycle import Event
from tui.messages import EventChosen

__all__ = ["EventBar"]


class EventBar(HorizontalGroup):
    """One compact button per legal event: ``1 report``, ``2 instruct``...; key n = button n."""

    DEFAULT_CSS = """
    EventBar { height: auto; padding: 0 1; }
    EventBar Button { margin-right: 1; min-width: 8; }
    EventBar Label { color: $text-muted; }
    """

    _names: tuple[str, ...] = ()

    async def show(self, events: Sequence[Event]) -> None:
        """Replace the buttons with one per event, in the lifecycle's order."""
        names = tuple(event.name for event in events)
        if names == self._names and self.children:
            return
        self._names = names
        await self.remove_children()
        if not events:
            await self.mount(Label("no events possible: the issue is closed"))
            return
        await self.mount(Label("Events (key or click): "))
        await self.mount_all(
            Button(
                f"{number} {event.name}",
                name=event.name,
                compact=True,
                tooltip=event.summary,
            )
            for number, event in enumerate(events, 1)
        )

    @on(Button.Pressed)
    def _chosen(self, pressed: Button.Pressed) -> None:
        pressed.stop()
        if pressed.button.name:
            self.post_message(EventChosen(pressed.button.name))

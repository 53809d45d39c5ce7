"""The client's one copy of the record: its status, the emergency choices, the médecin traitant,
the counts, the patient's practitioners and the unread notifications.

Every screen of both front ends reads it; every action, refresh and login updates it. A screen
shown again asks for a refresh (``refresh``), so what it shows is the record as it is now,
including changes made from another session or by a practitioner. Listeners are told after each
change (the TUI redraws the screens showing it); they must not do I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dmptui.words import Links

if TYPE_CHECKING:
    from dmptui.client import Client
    from dmptui.schema import (
        NotificationPage,
        Oppositions,
        PractitionersOut,
        RecordOut,
    )

Listener = Callable[["RecordState"], None]

# The parts of the state an action changes (``Plan.changes``) or a screen reads.
RECORD = "record"  # status, oppositions, médecin traitant, counts
PRACTITIONERS = "practitioners"
UNREAD = "unread"
DOCUMENTS = "documents"  # the documents list (its screen reloads it)
PARTS = frozenset({RECORD, PRACTITIONERS, UNREAD, DOCUMENTS})

UNREAD_LOADED = 50  # unread notifications loaded with the record (home lists the first five)


class RecordState:
    def __init__(self) -> None:
        self.record: RecordOut | None = None
        self.links: Links = Links()
        self.practitioners_loaded = False
        self.unread: NotificationPage | None = None
        self._listeners: list[Listener] = []

    # --- reading ------------------------------------------------------------------------------

    @property
    def status(self) -> str | None:
        return None if self.record is None else str(self.record.status)

    def refused(self, which: str) -> bool | None:
        """Whether the patient refuses ``break_glass`` or ``regulation``; None until loaded."""
        if self.record is None:
            return None
        return bool(getattr(self.record.oppositions, which))

    # --- listening ----------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    # --- updates ------------------------------------------------------------------------------

    def clear(self) -> None:
        """Logged out: nothing of the record stays in memory."""
        self.record = None
        self.links = Links()
        self.practitioners_loaded = False
        self.unread = None
        self._changed()

    def set_record(self, record: RecordOut) -> None:
        self.record = record
        if not self.practitioners_loaded:
            self.links.attending = record.attending
        self._changed()

    def set_unread(self, page: NotificationPage | None) -> None:
        self.unread = page
        if self.record is not None:
            count = 0 if page is None else len(page.items)
            self.record = self.record.model_copy(update={"unread_notifications": count})
        self._changed()

    def set_oppositions(self, oppositions: Oppositions) -> None:
        if self.record is not None:
            self.record = self.record.model_copy(update={"oppositions": oppositions})
        self._changed()

    def set_practitioners(self, answer: PractitionersOut) -> None:
        self._practitioners(answer)
        self._changed()

    def _practitioners(self, answer: PractitionersOut) -> None:
        self.links = Links(answer)
        self.practitioners_loaded = True
        if self.record is not None and self.record.counts:
            counts = dict(self.record.counts)
            counts["authorised"] = len(answer.authorised)
            counts["blocked"] = len(answer.blocked)
            self.record = self.record.model_copy(
                update={"attending": answer.attending, "counts": counts}
            )

    def document_deleted(self) -> None:
        if self.record is not None and self.record.counts:
            counts = dict(self.record.counts)
            counts["documents"] = max(0, counts.get("documents", 0) - 1)
            self.record = self.record.model_copy(update={"counts": counts})
        self._changed()

    def document_changed(self) -> None:
        self._changed()

    def all_read(self) -> None:
        self.set_unread(None)

    # --- refreshing from the host -------------------------------------------------------------

    async def refresh(
        self, client: Client, parts: frozenset[str] = frozenset({RECORD, UNREAD})
    ) -> None:
        """Load ``parts`` from the host (unread notifications only while the record is open)."""
        if RECORD in parts or UNREAD in parts:
            record = await client.record()
            self.record = record
            if not self.practitioners_loaded:
                self.links.attending = record.attending
            if UNREAD in parts:
                self.unread = (
                    await client.notifications(limit=UNREAD_LOADED, unread=True)
                    if record.status == "active"
                    else None
                )
        if PRACTITIONERS in parts:
            self._practitioners(await client.practitioners())
        self._changed()

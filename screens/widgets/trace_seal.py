"""One line under the access trace: "Verified up to entry N, signed on …", or, in plain words,
why the host's trace can't be trusted and what to do (``dmptui.trace_check``).

The trace screen calls ``check(entries, complete)`` after each page it shows; the check runs in
a worker, one at a time (the app's one ``TraceChecker``), and never touches the status line
unless the trace can't be trusted (then it is said as an error, so it also reaches the message
log and a screen reader)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widgets import Static

from dmptui.i18n import _
from dmptui.trace_check import CheckpointStore, Seal, TraceChecker
from screens.widgets.text import plain


def checker_of(app: Any) -> TraceChecker:
    """The app's checker (made on first use), its store in the app's data dir."""
    checker = getattr(app, "trace_checker", None)
    if checker is None:
        store = CheckpointStore.in_dir(getattr(app.config, "data_dir", None))
        checker = app.trace_checker = TraceChecker(app.client, store)
    return checker


class TraceSeal(Static):
    DEFAULT_CSS = """
    TraceSeal { height: auto; padding: 0 1; }
    TraceSeal.seal-failed { text-style: bold; border-left: thick $error; }
    """

    def __init__(self) -> None:
        super().__init__(plain(_("Checking the access trace…")), id="trace-seal")
        self.seal: Seal | None = None

    def check(self, entries: Sequence[Any], complete: bool) -> None:
        self.run_worker(self._check(list(entries), complete), group="trace-seal")

    async def _check(self, entries: list[Any], complete: bool) -> None:
        seal = await checker_of(self.app).check(entries, complete=complete)
        self.seal = seal
        self.set_class(seal.failed, "seal-failed")
        self.update(plain(seal.words()))
        if seal.failed:
            say = getattr(self.screen, "say", None)
            if say is not None:
                say("error", seal.words())

"""Take the whole record: one zip archive the patient keeps, checked at once and checkable
later with no host (``dmptui verify-export``)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dmptui.actions.base import Ask, Choice, Outcome, Plan, refused
from dmptui.i18n import N_, _
from dmptui.state import RecordState

if TYPE_CHECKING:
    from dmptui.client import Client

Progress = Callable[[int, int | None], None]  # bytes received, the host's estimate of the total

# Before closing or erasing: the offer to take the record first.
TAKE_IT_FIRST = N_(
    "Before you go on, you can take your whole record with you: an archive of every document "
    "and of the access trace, that you can check without the host."
)
TAKE_IT_FIRST_YES = N_("Export my record first")
TAKE_IT_FIRST_NO = N_("Go on without exporting")
NOTHING_EXPORTED = N_("Nothing was exported.")
WHERE = N_("The archive to write (a .zip file):")
EXPORT = N_("Export")


def offer() -> Ask:
    """Before closing or erasing: take the record first (the first choice), or go on."""
    return Ask(
        title=_("Take your record with you first?"),
        consequence=_(TAKE_IT_FIRST),
        confirm_label=_(TAKE_IT_FIRST_YES),
        choices=(Choice("export", _(TAKE_IT_FIRST_YES)), Choice("go_on", _(TAKE_IT_FIRST_NO))),
    )


@dataclass(frozen=True)
class Destination:
    path: Path
    progress: Progress | None = None


def default_path(now: datetime | None = None) -> Path:
    """``dmp-export-<date>.zip`` where the app saves documents (``DMPTUI_SAVE_DIR``, else the
    home folder)."""
    from dmptui.words import save_dir

    day = (now or datetime.now()).strftime("%Y-%m-%d")
    return save_dir() / f"dmp-export-{day}.zip"


def size_words(count: int) -> str:
    if count >= 1_000_000:
        return _("{size} MB").format(size=f"{count / 1_000_000:.1f}")
    return _("{size} KB").format(size=max(1, round(count / 1000)))


def progress_words(received: int, estimate: int | None) -> str:
    """A progress line: what came so far, and about how much of it."""
    if estimate:
        share = min(99, int(100 * received / estimate))
        return _("Exporting: {received} received, about {share}%.").format(
            received=size_words(received), share=share
        )
    return _("Exporting: {received} received.").format(received=size_words(received))


def plan(state: RecordState, where: Destination) -> Plan:
    if state.status == "erased":
        return refused("record.export", _("Your record is erased: there is nothing to export."))
    path = where.path.expanduser()
    if path.is_dir():
        return refused(
            "record.export",
            _("{path} is a folder: give the name of the file to write.").format(path=path),
            "error",
        )
    if not path.parent.is_dir():
        return refused(
            "record.export",
            _("The folder {folder} does not exist: choose another place.").format(
                folder=path.parent
            ),
            "error",
        )
    consequence = "\n".join(
        [
            _(
                "Every document you can see, your choices and the access trace go into {path}."
            ).format(path=path),
            _(
                "It holds your health data: keep it somewhere safe, and give it only to "
                "people you trust."
            ),
            _("Anyone can check it later, with no host: dmptui verify-export {path}").format(
                path=path
            ),
        ]
        + ([_("A file already has that name: it will be replaced.")] if path.exists() else [])
    )

    async def run(client: Client, _choice: str | None) -> Outcome:
        from dmptui import export_check

        part = path.with_name(path.name + ".part")
        # Only the patient may read it: health data.
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                received = await client.export(out, where.progress)
            os.replace(part, path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        verdict = export_check.verify(path)
        if not verdict.ok:
            return Outcome(
                _(
                    "Your record was written to {path}, but its check failed: {why} Export "
                    "it again; if this happens again, tell your support."
                ).format(path=path, why=" ".join(verdict.fails)),
                "warning",
                value=verdict,
            )
        return Outcome(
            _(
                "Your record is exported to {path} ({size}) and checked: every document, and "
                "every trace entry, is as the host signed it."
            ).format(path=path, size=size_words(received)),
            value=verdict,
        )

    return Plan(
        "record.export",
        waiting=_("Exporting your whole record…"),
        run=run,
        ask=Ask(
            title=_("Export your whole record?"),
            consequence=consequence,
            confirm_label=_(EXPORT),
        ),
        # A login is fresh for a few minutes; after that the host asks for a code, and the
        # front end asks the patient for one, then calls again.
        step_up=False,
        cancelled=_(NOTHING_EXPORTED),
    )

"""What an action is, for both front ends: a ``Plan`` made from the record state and the item it
acts on.

A plan says everything a front end needs and nothing about how it is shown:

- ``problem``: a precondition that does not hold, in words (say it; nothing else happens);
- ``ask``: what the patient reads and answers first (a yes/no, a word to type, or a choice);
- ``step_up``: whether a fresh one-time code is needed before the call;
- ``waiting``: what is said while the host works;
- ``run(client, choice)``: the client call; it updates the record state and returns the
  ``Outcome`` in words;
- ``cancelled``: what is said when the patient says no;
- ``changes``: the parts of the record state it changes (``dmptui.state``), which a front end
  loads again when the call fails (a document deleted elsewhere, a list changed meanwhile).

Errors are the client's typed errors; ``dmptui.explain`` says them in words. Front ends render
plans; neither composes its own sentences about the record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dmptui.i18n import N_, _

if TYPE_CHECKING:
    from dmptui.client import Client

Kind = Literal["done", "info", "warning", "error"]

CANCEL = N_("Cancel")  # the no of a confirmation, and the last entry of a choice
CONTINUE = N_("Continue")  # the yes of a step that leads to another


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


@dataclass(frozen=True)
class Ask:
    """What the patient reads, then answers, before the action."""

    title: str  # the question: 'Delete "X"?'
    consequence: str  # what will happen, in full (may hold blank lines between paragraphs)
    confirm_label: str  # the words of the yes (a button, a menu entry)
    word: str = ""  # a word typed to confirm, where screen-reader mode types one
    typed: bool = False  # both front ends have the word typed (erase)
    choices: tuple[Choice, ...] = ()  # pick one (the first is the safe default) instead of yes

    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.consequence.split("\n") if p.strip()]


@dataclass(frozen=True)
class Outcome:
    text: str
    kind: Kind = "done"
    ends_session: bool = False  # closing or erasing ended every session: log in again
    value: Any = None  # the host's answer (a changed document, the notes…), for the screen


Run = Callable[["Client", str | None], Awaitable[Outcome]]


async def _nothing(_client: Client, _choice: str | None) -> Outcome:
    raise AssertionError("a plan with a problem is not run")


@dataclass(frozen=True)
class Plan:
    id: str  # the catalogue's action id
    waiting: str = ""
    run: Run = _nothing
    problem: Outcome | None = None
    ask: Ask | None = None
    step_up: bool = False
    cancelled: str = ""
    changes: frozenset[str] = field(default_factory=frozenset)


def refused(action_id: str, text: str, kind: Kind = "info") -> Plan:
    """A plan whose precondition does not hold: only words."""
    return Plan(action_id, problem=Outcome(text, kind))


def nothing_changed() -> str:
    return _("Nothing was changed.")

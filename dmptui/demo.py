"""What the front ends know of ``dmptui demo``: the demo account (filled in before the demo host
has even started), the demo host's state while it starts, and the demo phone.

The entry point (``dmptui/entry/demo.py``) starts the host and hands the front ends a
``DemoLink``; the front ends never import the host. Light on purpose (no schema, no pydantic):
the login screen imports it before it is painted. The host's demo data (``host/demo_data.py``)
takes the account from here, so the two cannot drift."""

from __future__ import annotations

from typing import Any, Protocol

from dmptui.i18n import N_, _

DEMO_INS = "284057512345672"  # a valid test NIR: woman, born May 1984, Paris
DEMO_PASSWORD = "Tilleul-Brume-2026"  # noqa: S105 - demo only; accepted by auth.password_problem
DEMO_EMAIL = N_("Email")  # the demo phone's name for an email ("SMS" is the same in French)
DEMO_LETTER = N_("Letter")  # a letter by post (an activation code), shown on the demo phone

HOST_STARTING = N_(
    "The demo host is still starting (it prepares the demo record). Your login goes on by "
    "itself as soon as it is ready."
)
HOST_READY = N_("The demo host is ready.")
PHONE_TITLE = N_("DEMO PHONE — messages the demo host sent (not a real phone)")
PHONE_EMPTY = N_("No message yet. Messages the demo host sends (codes, notices) appear here.")
NOT_THE_DEMO = N_(
    "There is no demo phone here: this is not the demo. Your codes go to your own phone or "
    "email. To try the app with a demo phone, run “dmptui demo”."
)


def host_failed(detail: str) -> str:
    return _(
        "The demo host could not start ({detail}). Quit (Ctrl+Q, or q) and run “dmptui demo” "
        "again; “dmptui doctor” checks the installation."
    ).format(detail=detail)


class DemoLink(Protocol):
    """The demo host as the front ends see it (``dmptui.entry.demo.DemoHost``)."""

    ins: str
    password: str

    def go(self) -> None:
        """The app has painted its first screen: start the host now, in the background."""
        ...

    def ready(self) -> bool:
        """Whether the host answers now."""
        ...

    def wait(self, timeout: float = 180.0) -> bool:
        """Block until the host answers (True), fails or ``timeout`` seconds pass (False);
        says "go" first."""
        ...

    def problem(self) -> str | None:
        """Why the host could not start, in words; None while it starts or runs."""
        ...

    def messages(self) -> list[dict[str, Any]]:
        """Every message the host sent (``channel``, ``recipient``, ``subject``, ``body``),
        oldest first."""
        ...


def message_heading(message: dict[str, Any]) -> str:
    """ "SMS to +33 6 …" / "Email to camille@…": the first line of a message on the phone."""
    channel = message.get("channel")
    kind = "SMS" if channel == "sms" else _(DEMO_LETTER) if channel == "letter" else _(DEMO_EMAIL)
    return _("{kind} to {recipient}").format(kind=kind, recipient=str(message.get("recipient", "")))


def message_body(message: dict[str, Any]) -> str:
    return str(message.get("body", "")).strip()

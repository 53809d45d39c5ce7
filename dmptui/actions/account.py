"""Screen 10's actions on the patient's account: end a session, forget a device, log out
everywhere, change the password; and what the screen says about sessions and devices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dmptui import catalogue
from dmptui.actions.base import Ask, Outcome, Plan, refused
from dmptui.i18n import N_, _, format_datetime, pick
from dmptui.state import RecordState

if TYPE_CHECKING:
    from dmptui.client import Client

INTRO = N_(
    "The sessions open on your account and the devices it remembers. If one is not yours: "
    "end it, forget it, then change your password."
)
# The times below are Paris times: said once, in the first heading of the screen.
SESSIONS_HEADING = N_("Sessions open now (Paris time):")
DEVICES_HEADING = N_("Remembered devices:")
NO_DEVICES = N_("No device is remembered: your next login will be announced as a new device.")
LOADING = N_("Loading your devices and sessions…")
LOADED = N_("Your devices and sessions are up to date.")
CURRENT_PASSWORD = N_("Current password")
NEW_PASSWORD = N_("New password (12 characters or more)")
REPEAT_PASSWORD = N_("New password again")
PASSWORD_HEADING = N_("Change my password")
PASSWORD_INTRO = N_(
    "Type your current password, then the new one twice. A few unrelated words together make "
    "a strong password that is easy to remember. A fresh one-time code is asked next."
)
WHICH_SESSION = N_("Which session? Type its number.")
WHICH_DEVICE = N_("Which device? Type its number.")
PASSWORD_UNCHANGED = N_("Nothing was changed: your password is the same.")
NOTHING_SELECTED_SESSION = N_("Choose a session in the list first.")
NOTHING_SELECTED_DEVICE = N_("Choose a remembered device in the list first.")


def _app(item: Any) -> str:
    return item.app or _("unknown app")


def _address(item: Any) -> str:
    return item.address or _("unknown address")


When = Callable[[datetime], str]


def session_line(item: Any, when: When = format_datetime) -> str:
    """One session, in a sentence (the app's name is data: render it as text). ``when`` says a
    time: as shown, or as said (``spoken_datetime``, screen-reader mode)."""
    text = _("Session opened {first}, last active {last}; app: {app}; address: {address}.").format(
        first=when(item.first_seen),
        last=when(item.last_seen),
        app=_app(item),
        address=_address(item),
    )
    return _("This device — {text}").format(text=text) if item.current else text


def device_line(item: Any, when: When = format_datetime) -> str:
    """One remembered device, in a sentence."""
    last = when(item.last_seen) if item.last_seen else _("not known")
    text = _("Device first seen {first}, last seen {last}; app: {app}; address: {address}.").format(
        first=when(item.first_seen), last=last, app=_app(item), address=_address(item)
    )
    return _("This device — {text}").format(text=text) if item.current else text


def _ended(state: RecordState, done: Any) -> Outcome:
    state.clear()
    return Outcome(pick(done.message), ends_session=True)


def end_session(state: RecordState, item: Any | None, when: When = format_datetime) -> Plan:
    """End the session ``item`` (a ``SessionOut``; None: nothing chosen); ``when`` says its
    times in the question."""
    if item is None:
        return refused("account.end_session", _(NOTHING_SELECTED_SESSION))
    action = catalogue.ACTION_BY_ID["account.end_session"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        done = await client.end_session(item.id)
        if done.current_ended:
            return _ended(state, done)
        return Outcome(pick(done.message))

    consequence = (
        _("This is the session you are using: ending it logs you out.")
        if item.current
        else _("The device that uses it must log in again with your password and a one-time code.")
    )
    return Plan(
        "account.end_session",
        waiting=_("Ending the session…"),
        run=run,
        ask=Ask(
            title=_("End this session?"),
            consequence=f"{session_line(item, when)}\n{consequence}",
            confirm_label=_(action.label),
        ),
        cancelled=_("Nothing was changed: that session goes on."),
    )


def forget_device(state: RecordState, item: Any | None, when: When = format_datetime) -> Plan:
    """Forget the remembered device ``item`` (a ``DeviceOut``; None: nothing chosen)."""
    if item is None:
        return refused("account.forget_device", _(NOTHING_SELECTED_DEVICE))
    action = catalogue.ACTION_BY_ID["account.forget_device"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        return Outcome(pick((await client.forget_device(item.id)).message))

    return Plan(
        "account.forget_device",
        waiting=_("Forgetting the device…"),
        run=run,
        ask=Ask(
            title=_("Forget this device?"),
            consequence=f"{device_line(item, when)}\n{_(action.help)}",
            confirm_label=_(action.label),
        ),
        cancelled=_("Nothing was changed: that device is still remembered."),
    )


def everywhere(state: RecordState) -> Plan:
    action = catalogue.ACTION_BY_ID["account.everywhere"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        return _ended(state, await client.logout_everywhere())

    return Plan(
        "account.everywhere",
        waiting=_("Ending every session…"),
        run=run,
        ask=Ask(
            title=_("Log out everywhere?"),
            consequence=_(action.confirm or action.help),
            confirm_label=_(action.label),
        ),
        cancelled=_("Nothing was changed: your sessions go on."),
    )


def change_password(state: RecordState, current: str, new: str, repeat: str) -> Plan:
    """Change the password from ``current`` to ``new`` (typed twice: ``repeat``). What the host
    refuses (a wrong current password, a weak new one) comes back as an error, explained."""
    pid = "account.password"
    if not current:
        return refused(pid, _("Type your current password."), "warning")
    if not new:
        return refused(pid, _("Type the new password."), "warning")
    if new != repeat:
        return refused(
            pid, _("The two new passwords are not the same. Type the new one twice again."), "error"
        )
    if new == current:
        return refused(
            pid,
            _("The new password is the same as your current one: choose a different one."),
            "error",
        )
    action = catalogue.ACTION_BY_ID[pid]

    async def run(client: Client, _choice: str | None) -> Outcome:
        return Outcome(pick((await client.change_password(current, new)).message))

    return Plan(
        pid,
        waiting=_("Changing your password…"),
        run=run,
        ask=Ask(
            title=_("Change your password?"),
            consequence=_(action.confirm or action.help),
            confirm_label=_(action.label),
        ),
        step_up=action.step_up,
        cancelled=_(PASSWORD_UNCHANGED),
    )

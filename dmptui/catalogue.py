"""The one list of screens and patient actions that both front ends show.

Screen ids are stable (support staff say "screen 3"); action ids are stable (keymaps, the support
guide and the tests refer to them). Labels and help are English msgids, translated with
``dmptui.i18n._`` where they are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dmptui.i18n import N_


@dataclass(frozen=True)
class ScreenSpec:
    number: int  # the digit that jumps to it
    key: str
    title: str


@dataclass(frozen=True)
class Action:
    id: str  # "<screen>.<verb>", stable
    screen: str
    key: str  # the key in the TUI
    label: str
    help: str
    confirm: str | None = None  # the consequence, read before asking for confirmation
    step_up: bool = False  # a fresh one-time code is needed


LOGIN = ScreenSpec(0, "login", N_("Log in"))
SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec(1, "home", N_("Home")),
    ScreenSpec(2, "documents", N_("Documents")),
    ScreenSpec(3, "practitioners", N_("Practitioners")),
    ScreenSpec(4, "trace", N_("Access trace")),
    ScreenSpec(5, "emergency", N_("Emergency access")),
    ScreenSpec(6, "record", N_("My record")),
    ScreenSpec(7, "notes", N_("Personal space")),
    ScreenSpec(8, "notifications", N_("Notifications")),
    ScreenSpec(9, "help", N_("Help")),
    ScreenSpec(10, "account", N_("My devices and sessions")),
)
BY_KEY = {s.key: s for s in (LOGIN, *SCREENS)}

ACTIONS: tuple[Action, ...] = (
    Action(
        "login.submit",
        "login",
        "enter",
        N_("Log in"),
        N_("Check the INS and password, then ask for the one-time code."),
    ),
    Action(
        "login.send_sms",
        "login",
        "f2",
        N_("Send me a code by SMS"),
        N_("The host sends a one-time code to your phone."),
    ),
    Action(
        "login.send_email",
        "login",
        "f3",
        N_("Send me a code by email"),
        N_("The host sends a one-time code to your email address."),
    ),
    Action(
        "login.forgot_password",
        "login",
        "f5",
        N_("Forgot password"),
        N_("Set a new password with a code sent to your phone and a code sent to your email."),
    ),
    Action(
        "login.lost_phone",
        "login",
        "f6",
        N_("Lost phone: new authenticator"),
        N_("Replace your authenticator app with your password and a code sent to you."),
    ),
    Action(
        "documents.open",
        "documents",
        "enter",
        N_("Read"),
        N_("Open the selected document to read it."),
    ),
    Action(
        "documents.mask",
        "documents",
        "m",
        N_("Hide from practitioners"),
        N_(
            "Practitioners will no longer see this document, except its author and your "
            "médecin traitant."
        ),
    ),
    Action(
        "documents.unmask",
        "documents",
        "u",
        N_("Show to practitioners"),
        N_("Practitioners you authorised will see this document again."),
    ),
    Action(
        "documents.delete",
        "documents",
        "d",
        N_("Delete"),
        N_("Delete the document for everyone."),
        confirm=N_(
            "This document will be deleted for everyone, for good. Its content is "
            "erased; the access trace keeps only that it existed and that you "
            "deleted it."
        ),
        step_up=True,
    ),
    Action(
        "documents.save",
        "documents",
        "w",
        N_("Save to a file"),
        N_("Save the selected document's content to a file in your home folder."),
    ),
    Action(
        "documents.search",
        "documents",
        "slash",
        N_("Search"),
        N_("Search documents by words of their title."),
    ),
    Action(
        "documents.filter",
        "documents",
        "t",
        N_("Filter by type"),
        N_("Show only one type of document; press again for the next type."),
    ),
    Action(
        "documents.sort", "documents", "o", N_("Sort"), N_("Sort by date, type, title or author.")
    ),
    Action(
        "practitioners.search",
        "practitioners",
        "slash",
        N_("Search the directory"),
        N_("Find a practitioner by name or RPPS number."),
    ),
    Action(
        "practitioners.grant",
        "practitioners",
        "a",
        N_("Give access"),
        N_("Authorise the selected practitioner to read and add documents."),
    ),
    Action(
        "practitioners.revoke",
        "practitioners",
        "r",
        N_("Remove access"),
        N_("Take back the selected practitioner's authorisation."),
    ),
    Action(
        "practitioners.block",
        "practitioners",
        "b",
        N_("Block"),
        N_(
            "The selected practitioner will not be able to open your record in any mode, "
            "emergencies included."
        ),
        confirm=N_(
            "This practitioner will not be able to open your record in any mode, "
            "emergencies included, and loses any authorisation."
        ),
    ),
    Action(
        "practitioners.unblock",
        "practitioners",
        "n",
        N_("Unblock"),
        N_("Lift the block on the selected practitioner."),
    ),
    Action(
        "practitioners.attending",
        "practitioners",
        "t",
        N_("Make my médecin traitant"),
        N_(
            "Designate the selected doctor as your médecin traitant: they see all your "
            "documents, hidden ones included. Asked first; the former one keeps ordinary "
            "access unless you choose otherwise. On your médecin traitant: have none any more."
        ),
    ),
    Action(
        "trace.filter",
        "trace",
        "f",
        N_("Filter"),
        N_("Show only one practitioner, one mode or a period."),
    ),
    Action(
        "trace.emergency_only",
        "trace",
        "e",
        N_("Emergency accesses only"),
        N_(
            "Show only break-glass accesses; press again for call-centre accesses, again for "
            "everything."
        ),
    ),
    Action(
        "emergency.break_glass",
        "emergency",
        "b",
        N_("Change break-glass access"),
        N_(
            "Allow or refuse that any practitioner opens your record in an emergency when "
            "you cannot consent."
        ),
        confirm=N_(
            "Break-glass access lets any practitioner open your record in an "
            "emergency when you cannot consent; you are told each time. If you "
            "refuse it, no one can open your record this way, even to save your "
            "life."
        ),
        step_up=True,
    ),
    Action(
        "emergency.regulation",
        "emergency",
        "r",
        N_("Change emergency call-centre access"),
        N_(
            "Allow or refuse that the SAMU doctor (centre 15) opens your record when you "
            "call for help."
        ),
        confirm=N_(
            "The emergency call centre (SAMU, centre 15) doctor can open your record "
            "when someone calls for help for you; you are told each time. If you "
            "refuse it, they will not see your record."
        ),
        step_up=True,
    ),
    Action(
        "record.export",
        "record",
        "x",
        N_("Export my whole record"),
        N_("One archive of every document and of the access trace, that anyone can check."),
        step_up=True,
    ),
    Action(
        "record.close",
        "record",
        "c",
        N_("Close my record"),
        N_("Nobody can access it any more; it is kept 10 years, then destroyed."),
        confirm=N_(
            "Nobody, you included, will be able to read your record until you reopen "
            "it. It is kept for 10 years from today, then destroyed. You will be "
            "logged out."
        ),
        step_up=True,
    ),
    Action(
        "record.reactivate",
        "record",
        "o",
        N_("Reopen my record"),
        N_("Everything comes back as it was."),
        step_up=True,
    ),
    Action(
        "record.erase",
        "record",
        "e",
        N_("Erase my record for good"),
        N_("Every document, note and authorisation is destroyed, at once and for good."),
        confirm=N_(
            "Every document, note, authorisation and notification in your record will "
            "be destroyed at once. This cannot be undone: nobody can recover them. Your "
            "account goes with it: you will no longer be able to log in with this INS and "
            "password."
        ),
        step_up=True,
    ),
    Action(
        "notes.save",
        "notes",
        "ctrl+s",
        N_("Save my notes"),
        N_("Save your personal space; authorised practitioners can read it."),
    ),
    Action(
        "notifications.read_all",
        "notifications",
        "r",
        N_("Mark all as read"),
        N_("Mark every notification as read."),
    ),
    Action(
        "account.end_session",
        "account",
        "e",
        N_("End this session"),
        N_(
            "End the selected session: the device that uses it must log in again with your "
            "password and a code. Ending this device's own session logs you out."
        ),
    ),
    Action(
        "account.forget_device",
        "account",
        "f",
        N_("Forget this device"),
        N_(
            "Forget the selected device: its next login will be announced to you as a new "
            "device. Its sessions go on until you end them."
        ),
    ),
    Action(
        "account.everywhere",
        "account",
        "a",
        N_("Log out everywhere"),
        N_("End every session of your account, on every device, this one included."),
        confirm=N_(
            "Every session of your account will end, on every device, this one included. "
            "You will be back at the login screen; anyone else using your account must log "
            "in again with your password and a code."
        ),
    ),
    Action(
        "account.password",
        "account",
        "p",
        N_("Change my password"),
        N_(
            "Type your current password and a new one (12 characters or more, not built "
            "from your INS), then a fresh one-time code. Your other sessions end."
        ),
        confirm=N_(
            "Your password will change. Every other session of your account ends: the devices "
            "using them must log in again with the new password. This session goes on. You "
            "are told by email and SMS."
        ),
        step_up=True,
    ),
    Action("app.help", "*", "f1", N_("Help"), N_("Help for this screen.")),
    Action("app.back", "*", "escape", N_("Back"), N_("Go back to the previous screen.")),
    Action("app.logout", "*", "ctrl+l", N_("Log out"), N_("End your session on this device.")),
    Action("app.quit", "*", "ctrl+q", N_("Quit"), N_("Leave dmptui.")),
    Action(
        "app.demo_phone",
        "*",
        "f9",
        N_("Demo phone"),
        N_(
            "In the demo only (dmptui demo): every SMS and email the demo host sent, the "
            "codes included, newest first."
        ),
    ),
)
ACTION_BY_ID = {a.id: a for a in ACTIONS}

# Keys of the TUI alone (the screen-reader mode has no colours and reads every line already).
TUI_ACTIONS: tuple[Action, ...] = (
    Action(
        "app.read_screen",
        "*",
        "ctrl+r",
        N_("Read this screen"),
        N_("Copy what the screen shows into the message log."),
    ),
    Action(
        "app.theme",
        "*",
        "ctrl+t",
        N_("Colours"),
        N_("Switch between the dark, light and high-contrast colours."),
    ),
)


def goto_id(spec: ScreenSpec) -> str:
    """The binding id of the key that jumps to a screen (its digit by default)."""
    return f"app.goto.{spec.key}"


def digit(spec: ScreenSpec) -> str:
    """The default key that jumps to a screen: its number, and 0 for screen 10 (as on a
    keyboard's row of digits; 0 is free: the login screen is never jumped to)."""
    return str(spec.number % 10)


# Every binding id a keymap can move: id -> (where it works: a screen's key, or "*" for every
# screen; its default key).
DEFAULT_KEYS: dict[str, tuple[str, str]] = {
    **{a.id: (a.screen, a.key) for a in (*ACTIONS, *TUI_ACTIONS)},
    **{goto_id(s): ("*", digit(s)) for s in SCREENS},
}


def key_of(binding_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The key in use for a binding (a keymap's, else the default): Textual's key names, more
    than one separated by commas."""
    if keymap and binding_id in keymap:
        return keymap[binding_id]
    return DEFAULT_KEYS[binding_id][1]


def actions_for(screen: str) -> list[Action]:
    return [a for a in ACTIONS if a.screen == screen]


def screen_label(spec: ScreenSpec) -> str:
    from dmptui.i18n import _

    return f"{spec.number} — {_(spec.title)}"


def help_title(spec: ScreenSpec) -> str:
    """The first line of a screen's help."""
    from dmptui.i18n import _

    return _("Help for screen {screen}").format(screen=screen_label(spec))

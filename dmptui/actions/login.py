"""What logging in says, for both front ends: the INS and password problems, what is said while
the host checks, the one-time code's ways and texts, a fresh code before an action, and how a
session ends (logged out, locked)."""

from __future__ import annotations

from dmptui.i18n import N_, _
from dmptui.identifiers import IdentifierError

# Why an INS is not valid (``IdentifierError.code``), said inside ``ins_problem``.
INS_PROBLEMS = {
    "ins_length": N_("it must have 15 characters"),
    "ins_format": N_("only digits are allowed, and 2A or 2B for Corsica"),
    "ins_key": N_("the last two digits (the key) do not match the rest"),
    "legacy_ins_c": N_("this is an old 22-digit INS-C; use the 15-character INS"),
}
INS_NOT_VALID = N_("it is not valid")

INS_LABEL = N_("INS (national health identifier, 15 characters)")
PASSWORD_LABEL = N_("Password")
PASSWORD_MISSING = N_("Password: type your password.")
CHECKING_PASSWORD = N_("Checking your INS and password…")
CHECKING_CODE = N_("Checking the code…")
SEND_SMS = N_("Send me a code by SMS")  # a way to get the code, in a menu
SEND_EMAIL = N_("Send me a code by email")
# Where a code comes from, in a word each, in screen-reader mode's menu of ways to get it (the
# heading says it is a one-time code): the step-up's menu fits on one 80-column line.
CODE_SOURCES = {"totp": N_("Authenticator app"), "sms": N_("SMS"), "email": N_("Email")}
STEP_UP_NEEDED = N_("This action needs a fresh one-time code.")
# Screen-reader mode says it as the heading of the menu of ways to get the code (one line).
STEP_UP_MENU = N_("This needs a fresh one-time code:")

# "Remember me on this device": the refresh token kept in the OS keyring (``dmptui.session``).
REMEMBER_ME = N_("Remember me on this device")
REMEMBERED = N_("You will be remembered on this device.")
NOT_REMEMBERED = N_(
    "This device has no usable keyring, so you will not "
    "be remembered: your session stays in memory only "
    "and ends when you quit."
)
OPENING_REMEMBERED = N_("Opening your remembered session…")
REMEMBERED_ENDED = N_("Your remembered session has ended. Type your password to log in.")

# A record not yet activated (opened by a pharmacist or a doctor): the activation code of the
# letter comes before any one-time code, and gives the authenticator's secret.
ACTIVATION_CODE_LABEL = N_("Activation code (on the letter you received)")
ACTIVATE = N_("Activate my record")
ACTIVATION_ASKED = N_(
    "Your record is not activated yet. Type the activation code from the letter you received "
    "(12 letters and digits, as ABCD-EFGH-JKLM), then press Enter."
)
ACTIVATION_QUESTION = N_(
    "Activation code from your letter, 12 letters and digits (Enter alone starts again):"
)
CHECKING_ACTIVATION = N_("Checking the activation code…")
ACTIVATION_FORMAT = N_(
    "The activation code has 12 letters and digits, as on the letter (ABCD-EFGH-JKLM). Type "
    "it again."
)
ACTIVATED = N_(
    "Your record is activated. Now add it to an authenticator app: scan the QR code, or type "
    "this secret in the app: {secret}. Then type the 6-digit code the app shows."
)
ACTIVATED_SPOKEN = N_(
    "Your record is activated. Now add it to an authenticator app: type this secret in the "
    "app, letter by letter, without the commas and semicolons. Then choose the code from the "
    "app, and type the 6 digits it shows."
)
_ACTIVATION_ALPHABET = frozenset("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")

LOGGED_OUT = N_("You are logged out.")
IDLE_LOCKED = N_("Locked after 15 minutes without activity. Log in again to continue.")


def ins_problem(error: IdentifierError) -> str:
    """What is wrong with a typed INS, and what an INS is."""
    problem = _(INS_PROBLEMS.get(error.code, INS_NOT_VALID))
    return _(
        "INS: {problem}. The INS has 15 characters: 13 digits (2A or 2B "
        "for Corsica) and a 2-digit key; it is on your carte Vitale."
    ).format(problem=problem)


def activation_problem(raw: str) -> str | None:
    """What is wrong with a typed activation code (before it goes to the host), or None."""
    compact = "".join(raw.split()).replace("-", "").upper()
    if len(compact) != 12 or not set(compact) <= _ACTIVATION_ALPHABET:
        return _(ACTIVATION_FORMAT)
    return None


def activated(secret: str) -> str:
    """The activation done: what to do with the secret (shown beside its QR code)."""
    return _(ACTIVATED).format(secret=secret)


def sending(channel: str) -> str:
    """What is said while the host sends a code by ``sms`` or ``email``."""
    return _("Sending a code by SMS…") if channel == "sms" else _("Sending a code by email…")


def code_sent(destination: str, expires_in: int) -> str:
    """Where the code went (``destination`` as it is to be said) and for how long (seconds)."""
    return _("A code was sent to {destination}. It is valid {minutes} minutes.").format(
        destination=destination, minutes=expires_in // 60
    )

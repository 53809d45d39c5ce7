"""Account recovery from the login screen, for both front ends: a forgotten password (reset) and
a lost phone (a new authenticator). Each is a ``Recovery``, step by step: a front end shows
``ask()`` (a field to type, or a choice), hands what the person typed to ``give()``, and says
the sentence it returns; on a failure it says ``failed(error)``, which also moves the flow back
where it must start again. Every word is here; the front ends only render."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dmptui.actions import login as login_words
from dmptui.actions.base import CONTINUE
from dmptui.i18n import N_, _
from dmptui.identifiers import IdentifierError, parse_ins

if TYPE_CHECKING:
    from dmptui.client import Client
    from dmptui.schema import TotpEnrolment

FORGOT_PASSWORD = N_("Forgot password")
LOST_PHONE = N_("Lost phone: new authenticator")
FORGOT_PASSWORD_HELP = N_(
    "Set a new password with a code sent to your phone and a code sent to your email."
)
LOST_PHONE_HELP = N_("Replace your authenticator app with your password and a code sent to you.")
WORKING = N_("Asking the record host…")
NEXT = CONTINUE
BACK_TO_LOGIN = N_("Back to the login: Esc.")
BACK_TO_LOGIN_READER = N_("Back to the login")

# Errors after which the flow starts again from the INS.
RESTART = frozenset({"flow_expired", "recovery_limited", "invalid_credentials", "locked"})


@dataclass(frozen=True)
class Ask:
    """What to ask now. ``field``: "ins", "password", "channel", "code", "new_password",
    "new_password_again", "enrolment" (show ``Recovery.enrolment`` as at first login, then
    go back to the login) or "done" (back to the login)."""

    field: str
    label: str  # the field's label, or the choice's question
    help: str  # what to type and what happens next
    secret: bool = False  # not shown as typed
    choices: tuple[tuple[str, str], ...] = ()  # (value, label), for a choice


class Problem(Exception):
    """Something typed that is wrong before the host is asked: ``text`` says what to do."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _code(value: str) -> str:
    code = value.replace(" ", "").strip()
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        raise Problem(_("The code has 6 digits. Type it again."))
    return code


def _ins(value: str) -> str:
    try:
        return parse_ins(value).value
    except IdentifierError as e:
        raise Problem(login_words.ins_problem(e)) from e


def enrolment_text(secret: str) -> str:
    """Said with the QR code once a new authenticator is issued (as at first login)."""
    return _(
        "New authenticator: add your record to your authenticator app. Scan this QR code, "
        "or type this secret in the app: {secret}"
    ).format(secret=secret)


ENROLMENT_SPOKEN = N_(
    "New authenticator: add your record to your authenticator app. Type this secret in the "
    "app, letter by letter, without the commas and semicolons:"
)


class Recovery:
    """One recovery under way. ``title``: its name; ``step``: where it is."""

    title: str = ""

    def __init__(self, ins: str = "") -> None:
        self.ins = ins
        self.flow: str | None = None
        self.step = "ins"
        self.enrolment: TotpEnrolment | None = None

    def intro(self) -> str:
        raise NotImplementedError

    def ask(self) -> Ask:
        raise NotImplementedError

    async def give(self, client: Client, value: str) -> str:
        raise NotImplementedError

    def failed(self, error: BaseException) -> str:
        """What to say about a failure of the host or the network, and where to go on from."""
        from dmptui.explain import error_kind, explain

        kind = error_kind(error)
        if kind in RESTART:
            self.flow = None
            self.step = "ins"
        return explain(error) if isinstance(error, Exception) else str(error)

    @property
    def finished(self) -> bool:
        return self.step == "done"


def _ins_ask(help_text: str) -> Ask:
    return Ask("ins", _(login_words.INS_LABEL), help_text)


class Reset(Recovery):
    """Forgot password: INS, the code sent by SMS (or the authenticator's), the code sent by
    email (or the authenticator's, if it did not stand for the first), a new password twice."""

    title = FORGOT_PASSWORD

    def __init__(self, ins: str = "") -> None:
        super().__init__(ins)
        self.awaiting = "sms"
        self.proven: list[str] = []
        self.new_password = ""

    def intro(self) -> str:
        return _(
            "Forgot password: you will need two of these three: a code sent by SMS to your "
            "phone, a code sent to your email address, the code of your authenticator app."
        )

    def ask(self) -> Ask:
        if self.step == "ins":
            return _ins_ask(
                _("Type your INS. If it has a record, a code will be sent to its phone by SMS.")
            )
        if self.step == "code":
            instead = "totp" not in self.proven
            if self.awaiting == "sms":
                label = _("Code received by SMS (6 digits)")
                text = _("Type the code received by SMS.")
            else:
                label = _("Code received by email (6 digits)")
                text = _("Type the code received by email.")
            if instead:
                text += " " + _("You may type the code of your authenticator app instead.")
            return Ask("code", label, text, secret=True)
        if self.step == "new_password":
            return Ask(
                "new_password",
                _("New password"),
                _(
                    "Choose a new password: at least 12 characters, not a common password, "
                    "nothing taken from your INS."
                ),
                secret=True,
            )
        if self.step == "new_password_again":
            return Ask(
                "new_password_again",
                _("New password again"),
                _("Type the new password again, to be sure of it."),
                secret=True,
            )
        return Ask("done", "", _("Log in with your new password."))

    async def give(self, client: Client, value: str) -> str:
        if self.step == "ins":
            self.ins = _ins(value)
            started = await client.reset_start(self.ins)
            self.flow, self.awaiting, self.proven = started.flow, started.next, []
            self.step = "code"
            return _("If this INS has a record with a phone number, a code was sent to it by SMS.")
        if self.step == "code":
            assert self.flow is not None
            progress = await client.reset_verify(self.flow, _code(value))
            self.proven = list(progress.proven)
            if progress.next == "password":
                self.step = "new_password"
                return _("Code accepted. Now choose a new password.")
            self.awaiting = progress.next
            return _("Code accepted. A second code was sent to your email address.")
        if self.step == "new_password":
            if not value:
                raise Problem(_("Type a new password."))
            self.new_password = value
            self.step = "new_password_again"
            return ""
        if self.step == "new_password_again":
            if value != self.new_password:
                self.new_password = ""
                self.step = "new_password"
                raise Problem(_("The two passwords are not the same. Type the new one again."))
            assert self.flow is not None
            await client.reset_password(self.flow, self.new_password)
            self.new_password = ""
            self.step = "done"
            return _(
                "Your password was changed. Every session was ended and every remembered "
                "device forgotten; your phone and email were told. Log in with your new "
                "password."
            )
        return ""

    def failed(self, error: BaseException) -> str:
        if self.step == "new_password_again":
            self.new_password = ""
            self.step = "new_password"  # too weak: choose another
        return super().failed(error)


class Reenrol(Recovery):
    """Lost phone: INS, password, where to send a code (email or SMS), the code; then the new
    authenticator secret, shown as at first login."""

    title = LOST_PHONE

    def __init__(self, ins: str = "") -> None:
        super().__init__(ins)
        self.password = ""

    def intro(self) -> str:
        return _(
            "Lost phone: with your password and a code sent by email or SMS, a new "
            "authenticator replaces the old one, which will no longer work."
        )

    def ask(self) -> Ask:
        if self.step == "ins":
            return _ins_ask(_("Type your INS."))
        if self.step == "password":
            label = _(login_words.PASSWORD_LABEL)
            return Ask("password", label, _("Type your password."), secret=True)
        if self.step == "channel":
            return Ask(
                "channel",
                _("Where should the code be sent?"),
                _("Choose where the code is sent."),
                choices=(("email", _("By email")), ("sms", _("By SMS"))),
            )
        if self.step == "code":
            return Ask(
                "code",
                _("Code received (6 digits)"),
                _("Type the code you received."),
                secret=True,
            )
        if self.step == "enrolment":
            return Ask("enrolment", "", _("Then log in with your password and the new code."))
        return Ask("done", "", _("Log in with your password and the new code."))

    async def give(self, client: Client, value: str) -> str:
        if self.step == "ins":
            self.ins = _ins(value)
            self.step = "password"
            return ""
        if self.step == "password":
            if not value:
                raise Problem(_(login_words.PASSWORD_MISSING))
            self.password = value
            self.step = "channel"
            return ""
        if self.step == "channel":
            if value not in ("email", "sms"):
                raise Problem(_("Choose email or SMS."))
            started: Any = await client.reenrol_start(self.ins, self.password, value)
            self.password = ""
            self.flow = started.flow
            self.step = "code"
            return login_words.code_sent(started.destination, started.expires_in)
        if self.step == "code":
            assert self.flow is not None
            done = await client.reenrol_verify(self.flow, _code(value))
            self.enrolment = done.enrolment
            self.step = "enrolment"
            return _(
                "Your new authenticator is ready and the old one no longer works; every "
                "session was ended, and your phone and email were told."
            )
        if self.step == "enrolment":
            self.step = "done"
        return ""

    def failed(self, error: BaseException) -> str:
        from dmptui.explain import error_kind

        if error_kind(error) in RESTART:
            self.password = ""
        return super().failed(error)

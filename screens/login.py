"""Screen 0 — Log in: INS, password, then the one-time code (authenticator app, or a code sent
by SMS or email). A record not yet activated asks first for the activation code of the letter,
which enrols the authenticator: a QR code and the secret as text."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.lazy import Lazy
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, Label, Static

from dmptui import catalogue
from dmptui.actions import login as login_words
from dmptui.demo import HOST_READY, HOST_STARTING, host_failed
from dmptui.explain import BY_ERROR
from dmptui.i18n import N_, _
from dmptui.identifiers import IdentifierError, normalise, parse_ins, spaced_ins
from screens.base import Calls, StatusLine, catalogue_bindings
from screens.confirm import code_problem
from screens.keys import KeyWords
from screens.widgets.checkbox import TickBox
from screens.widgets.footer import KeyBar
from screens.widgets.message_log import MessageLog
from screens.widgets.text import plain
from screens.widgets.too_small import TooSmall

SUBMIT = catalogue.ACTION_BY_ID["login.submit"]
QUIT = catalogue.ACTION_BY_ID["app.quit"]
FORGOT = catalogue.ACTION_BY_ID["login.forgot_password"]
LOST_PHONE = catalogue.ACTION_BY_ID["login.lost_phone"]
SHOW_QR = N_("Show the QR code (F4)")
FIRST_WORDS = N_("Type your INS and your password, then press Enter.")


def qr_text(uri: str) -> str:
    import io

    import segno

    out = io.StringIO()
    segno.make(uri, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")


class LoginScreen(Calls, Screen[bool]):
    SCREEN_KEY = "login"
    BINDINGS: ClassVar[list[BindingType]] = [
        *catalogue_bindings("login"),
        Binding("ctrl+q", "app.quit", QUIT.label, id="app.quit", priority=True),
        Binding("f4", "show_qr", N_("QR code"), show=False),
    ]
    AUTO_FOCUS = "#ins"

    def __init__(self, resume: bool = False, notice: str | None = None) -> None:
        super().__init__()
        self.resume = resume
        self.notice = notice
        self.challenge: str | None = None
        self.channels: set[str] = set()
        self.qr = ""  # the enrolment QR code, as text, once the record is activated

    def compose(self) -> ComposeResult:
        yield Static(plain(catalogue.screen_label(catalogue.LOGIN)), id="screen-id")
        # What to do, in the first frame (said in on_mount, it came a frame or more later).
        first = "" if self.resume else self.notice or _(FIRST_WORDS)
        yield StatusLine(plain(first), id="status", classes="status-info" if first else "")
        with Horizontal(id="login-row"):
            with VerticalScroll(id="login-form"):
                with Vertical(id="credentials"):
                    yield Label(_(login_words.INS_LABEL), id="ins-label")
                    yield Input(
                        value=spaced_ins(self.app.config.ins),
                        id="ins",
                        placeholder="1 84 05 75 123 456 72",
                        max_length=40,
                    )
                    yield Label(_(login_words.PASSWORD_LABEL))
                    yield Input(password=True, id="password", max_length=200)
                    yield TickBox(_(login_words.REMEMBER_ME), id="remember")
                    yield Button(_(SUBMIT.label), id="submit", variant="primary")
                    with Horizontal(id="recovery-buttons"):
                        yield Button(_(FORGOT.label), id="forgot-password")
                        yield Button(_(LOST_PHONE.label), id="lost-phone")
                # Once the password is accepted, one line stands for the form, so the QR code
                # and the code field fit on the screen together.
                yield Static(id="credentials-done")
                # The code step is hidden until the password is accepted: mounted just after
                # the first paint (Lazy), so the form is drawn sooner (bench/app_bench.py).
                with Lazy(Horizontal(id="code-step")):
                    with Vertical(id="code-form"):
                        # A record not yet activated: the letter's code first (then hidden).
                        yield Label(_(login_words.ACTIVATION_CODE_LABEL), id="activation-label")
                        yield Input(id="activation-code", max_length=40)
                        yield Button(_(login_words.ACTIVATE), id="activate", variant="primary")
                        yield Static(id="enrolment")
                        yield Label(_("One-time code (6 digits)"), id="code-label")
                        yield Input(id="code", max_length=12, restrict=r"[0-9 ]*")
                        with Horizontal(id="code-buttons"):
                            yield Button(_("Confirm the code"), id="verify", variant="primary")
                            yield Button(_(login_words.SEND_SMS), id="sms")
                            yield Button(_(login_words.SEND_EMAIL), id="email")
                        yield Button(_(SHOW_QR), id="show-qr")
                    # First login: beside the code field when both fit (dmptui.tcss), else F4.
                    yield Static(id="qr")
            config = self.app.config
            if config.demo is not None:
                from screens.widgets.demo_phone import DemoPhone

                yield DemoPhone(config.demo)
        yield MessageLog()
        yield KeyBar()
        yield TooSmall()

    def on_mount(self) -> None:
        self.app.title = f"dmptui — {catalogue.screen_label(catalogue.LOGIN)}"
        self._show_credentials(True)
        if self.resume:
            self.say("warning", _(BY_ERROR["session_expired"]))
        if self.app.config.ins:
            self.query_one("#password", Input).focus()
        self.app.keys_ready()  # the keys typed meanwhile go to the field that has the focus
        # The keyring and the host client load once this screen is painted, not before: the
        # person sees the form first (both run in threads).
        self.call_after_refresh(self.set_timer, 0.05, self._after_paint)

    def _after_paint(self) -> None:
        self.app.warm_up()
        if self.app.config.demo is not None:
            return  # a fresh demo database: no remembered session can be valid there
        if not self.resume and not self.notice and self.app.config.token_store is not None:
            self._try_remembered()

    # --- "remember me": a refresh token kept in the keyring --------------------------------

    @work(thread=True, group="keyring")
    def _try_remembered(self) -> None:
        from dmptui.session import LAST_ACCOUNT

        store = self.app.config.token_store
        account = self.app.config.ins or store.load(LAST_ACCOUNT)
        token = store.load(account) if account else None
        if token:
            self.post_message(self.Remembered(account, token))

    class Remembered(Message):
        def __init__(self, account: str, token: str) -> None:
            super().__init__()
            self.account = account
            self.token = token

    def on_login_screen_remembered(self, message: Remembered) -> None:
        account, token = message.account, message.token
        self.query_one("#ins", Input).value = spaced_ins(account)

        async def resume() -> Any:
            await self.client.resume(token)
            return await self.client.record()

        self.call(_(login_words.OPENING_REMEMBERED), resume, self._resumed)

    def _resumed(self, _record: Any) -> None:
        from dmptui.session import keep_in_sync

        store = self.app.config.token_store
        keep_in_sync(self.client, store, self._account())
        self.app.logged_in()

    def say(self, kind: str, text: str) -> None:
        self.query_one(StatusLine).say(kind, text)
        if kind in ("done", "error", "warning"):
            self.app.log_message(kind, text)

    # --- step 1: INS + password ------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id in ("ins", "password"):
            self.action_act_submit()
        elif event.input.id == "code":
            self.action_act_verify()
        elif event.input.id == "activation-code":
            self.action_activate()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions = {
            "submit": self.action_act_submit,
            "verify": self.action_act_verify,
            "show-qr": self.action_show_qr,
            "sms": self.action_act_send_sms,
            "email": self.action_act_send_email,
            "activate": self.action_activate,
            "forgot-password": self.action_act_forgot_password,
            "lost-phone": self.action_act_lost_phone,
        }
        actions[event.button.id or ""]()

    def action_act_submit(self) -> None:
        raw = self.query_one("#ins", Input).value
        password = self.query_one("#password", Input).value
        try:
            ins = parse_ins(raw).value
        except IdentifierError as e:
            self.say("error", login_words.ins_problem(e))
            self.query_one("#ins", Input).focus()
            return
        if not password:
            self.say("error", _(login_words.PASSWORD_MISSING))
            self.query_one("#password", Input).focus()
            return
        demo = self.app.config.demo
        if demo is not None and not demo.ready():
            # The demo host is still preparing its record: say so, and log in once it is ready.
            self.say("wait", _(HOST_STARTING))
            self._when_demo_ready(ins, password)
            return
        self._log_in(ins, password)

    def _log_in(self, ins: str, password: str) -> None:
        self.call(
            _(login_words.CHECKING_PASSWORD),
            lambda: self.client.login(ins, password),
            self._challenged,
        )

    @work(thread=True, exclusive=True, group="demo-host")
    def _when_demo_ready(self, ins: str, password: str) -> None:
        demo = self.app.config.demo
        assert demo is not None
        ready = demo.wait()
        self.post_message(self.DemoHostStarted(ready, ins, password))

    class DemoHostStarted(Message):
        def __init__(self, ready: bool, ins: str, password: str) -> None:
            super().__init__()
            self.ready = ready
            self.ins = ins
            self.password = password

    def on_login_screen_demo_host_started(self, message: DemoHostStarted) -> None:
        demo = self.app.config.demo
        if not message.ready:
            self.say("error", host_failed((demo.problem() if demo else None) or "?"))
            return
        self.app.log_message("done", _(HOST_READY))
        self._log_in(message.ins, message.password)

    def _account(self) -> str:
        """The INS as typed, without its spaces: the account the keyring knows."""
        return normalise(self.query_one("#ins", Input).value)

    def _show_credentials(self, shown: bool) -> None:
        """The INS and password form, or (once they are accepted) one line and the code step."""
        self.query_one("#credentials").display = shown
        self.query_one("#credentials-done").display = not shown
        for step in self.query("#code-step"):  # none before its mount, after the first paint
            step.display = not shown

    def _challenged(self, challenge: Any) -> None:
        self.challenge = challenge.challenge
        self.query_one("#password", Input).value = ""
        self.query_one("#credentials-done", Static).update(
            plain(
                _("INS {ins}: password accepted. Esc: start again.").format(
                    ins=spaced_ins(self.query_one("#ins", Input).value)
                )
            )
        )
        self._show_credentials(False)
        self.channels = set(challenge.channels)
        if challenge.activation_required:
            self._activation_step(True)
            self._enrolled(None)
            self.say("info", _(login_words.ACTIVATION_ASKED))
            self.query_one("#activation-code", Input).focus()
            return
        self._activation_step(False)
        self._enrolled(None)
        self.say(
            "info",
            _(
                "Type the 6-digit code from your authenticator app, or ask for a "
                "code by SMS or email."
            ),
        )
        self.query_one("#code", Input).focus()

    def _activation_step(self, shown: bool) -> None:
        """The activation code's field (a record not yet activated), or the one-time code's."""
        for name in ("#activation-label", "#activation-code", "#activate"):
            self.query_one(name).display = shown
        for name in ("#code-label", "#code", "#code-buttons"):
            self.query_one(name).display = not shown
        self.query_one("#sms", Button).display = "sms" in self.channels
        self.query_one("#email", Button).display = "email" in self.channels

    def _enrolled(self, enrolment: Any) -> None:
        """The secret as text and its QR code (after an activation), or nothing."""
        enrol = self.query_one("#enrolment", Static)
        self.qr = qr_text(enrolment.uri) if enrolment is not None else ""
        enrol.update(plain(login_words.activated(enrolment.secret)) if enrolment else "")
        self.query_one("#qr", Static).update(plain(self.qr))
        self.query_one("#login-form").set_class(bool(self.qr), "-enrolling")

    def action_activate(self) -> None:
        field = self.query_one("#activation-code", Input)
        raw = field.value
        if not self.challenge:
            self.action_act_submit()
            return
        if problem := login_words.activation_problem(raw):
            self.say("error", problem)
            field.focus()
            return
        challenge = self.challenge
        field.value = ""
        self.call(
            _(login_words.CHECKING_ACTIVATION),
            lambda: self.client.activate(challenge, raw),
            self._activated,
        )

    def _activated(self, enrolment: Any) -> None:
        self._activation_step(False)
        self._enrolled(enrolment)
        self.say("done", login_words.activated(enrolment.secret))
        self.query_one("#code", Input).focus()

    # --- forgotten password, lost phone (screens/recovery.py) -------------------------------

    def action_act_forgot_password(self) -> None:
        from dmptui.actions.recovery import Reset

        self._recover(Reset(self._account()))

    def action_act_lost_phone(self) -> None:
        from dmptui.actions.recovery import Reenrol

        self._recover(Reenrol(self._account()))

    def _recover(self, recovery: Any) -> None:
        from screens.recovery import RecoveryScreen

        def back(done: bool | None) -> None:
            self.challenge = None
            self._show_credentials(True)
            if recovery.ins:  # the INS typed in the dialog is the one to log in with
                self.query_one("#ins", Input).value = recovery.ins
            if done:
                self.say("done", recovery.ask().help)
            self.query_one("#password", Input).focus()

        self.app.push_screen(RecoveryScreen(recovery), back)

    # --- step 2: the code ------------------------------------------------------------------

    def action_show_qr(self) -> None:
        """F4 on first login: the QR code on a screen of its own, whatever the terminal's size
        (beside the code field it needs some 100 columns by 40 rows); Esc comes back here."""
        if self.qr and self.challenge:
            self.app.push_screen(QrScreen(self.qr))

    def key_escape(self, event: events.Key) -> None:
        """Esc during the code step: back to the INS and password (another account, a typo)."""
        if not self.challenge:
            return
        event.stop()
        self.challenge = None
        self.query_one("#code", Input).value = ""
        self.query_one("#activation-code", Input).value = ""
        self._show_credentials(True)
        self.query_one("#password", Input).focus()
        self.say("info", _(FIRST_WORDS))

    def _send(self, channel: str) -> None:
        if not self.challenge:
            self.say("error", _("First type your INS and password, then press Enter."))
            return
        challenge = self.challenge
        self.call(
            login_words.sending(channel),
            lambda: self.client.send_code(challenge, channel),
            self._sent,
        )

    def _sent(self, sent: Any) -> None:
        self.say(
            "done",
            login_words.code_sent(sent.destination, sent.expires_in),
        )
        self.query_one("#code", Input).focus()

    def action_act_send_sms(self) -> None:
        self._send("sms")

    def action_act_send_email(self) -> None:
        self._send("email")

    def action_act_verify(self) -> None:
        code = self.query_one("#code", Input).value.replace(" ", "")
        if not self.challenge:
            self.action_act_submit()
            return
        if problem := code_problem(code):
            self.say("error", problem)
            return
        challenge = self.challenge
        self.query_one("#code", Input).value = ""
        self.call(
            _(login_words.CHECKING_CODE),
            lambda: self.client.verify(challenge, code),
            self._verified,
        )

    def _verified(self, tokens: Any) -> None:
        self.app.remember(
            self.query_one("#remember", Checkbox).value,
            self._account(),
        )
        if self.resume:
            self.dismiss(True)
        else:
            self.app.logged_in()

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        from dmptui.explain import error_kind, explain

        message.prevent_default()  # this screen explains its own failures
        kind = error_kind(message.error)
        self.query_one("#password", Input).value = ""
        self.query_one("#code", Input).value = ""
        self.query_one("#activation-code", Input).value = ""
        if kind == "session_expired" and not self.challenge:
            # A remembered session that has ended: forget it, and log in as usual.
            store = self.app.config.token_store
            if store is not None:
                store.delete(self._account())
            if getattr(message.error, "reason", None) == "refresh_reused":
                self.say("warning", explain(message.error))  # ended for safety: say why
            else:
                self.say("info", _(login_words.REMEMBERED_ENDED))
            return
        if kind in (
            "challenge_expired",
            "invalid_credentials",
            "locked",
            "account_erased",
            "already_activated",
        ):
            self.challenge = None
            self._show_credentials(True)
            self.query_one("#password", Input).focus()
        self.say("error", explain(message.error))


class QrScreen(KeyWords, ModalScreen[None]):
    """The enrolment QR code alone on the screen, with one line saying how to come back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,f4", "close", N_("Back to the code field")),
    ]

    def __init__(self, qr: str) -> None:
        super().__init__()
        self.qr = qr

    def compose(self) -> ComposeResult:
        yield Static(
            plain(_("Scan this QR code with your authenticator app. Esc: back to the code field.")),
            id="qr-help",
        )
        yield Static(plain(self.qr), id="qr-view")

    def action_close(self) -> None:
        self.dismiss(None)

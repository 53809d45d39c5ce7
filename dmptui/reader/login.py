"""Screen 0 of screen-reader mode: log in (the INS, the password, the one-time code and where
it is sent), the demo phone, and a fresh code when the host asks for one (``step_up``)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from dmptui.actions import login as login_words
from dmptui.actions.base import CANCEL
from dmptui.demo import NOT_THE_DEMO, PHONE_EMPTY, message_body, message_heading
from dmptui.explain import error_kind
from dmptui.i18n import _, labelled
from dmptui.identifiers import (
    IdentifierError,
    parse_ins,
    spelled,
    spelled_groups,
    spoken_ins,
)
from dmptui.reader.flow import Back, Failed, Quit
from dmptui.reader.menus import (
    HANDLERS,
    Entry,
    handles,
    print_help,
    show_menu,
    where_line,
)

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 0: log in ------------------------------------------------------------------------

RESTART = (
    "challenge_expired",
    "invalid_credentials",
    "locked",
    "too_many_codes",
    "account_erased",
)


async def login(r: Reader, resume: bool = False) -> None:
    """INS, password (not echoed), then the one-time code. Returns once logged in, with the
    record state emptied unless the same patient logged in again (``resume``): the screen shown
    next (home, or the one the patient was on) loads it again."""
    r.enter("login")
    held = r.ins
    if not resume and await resume_remembered(r):
        r.last_input = time.monotonic()
        r.say("done", _("you are logged in."))
        return
    if not resume:
        r.say("info", _("Type your INS and your password, pressing Enter after each."))
    while True:
        ins = await ask_ins(r)
        try:
            password = await ask_password(r)
        except Recover as chosen:
            await recover(r, chosen.kind)
            continue
        if password is None:
            continue  # Enter alone: back to the INS
        try:
            challenge = await HANDLERS["login.submit"](r, ins, password)
        except Failed as failed:
            if error_kind(failed.error) in ("invalid_credentials", "locked"):
                r.say("info", recovery_hint())  # a forgotten password: the way out
            continue
        if await code_step(r, challenge):
            if not resume or ins != held:
                r.state.clear()
            r.last_input = time.monotonic()
            r.summary = True  # home reads the record's summary once after a login
            r.say("done", _("you are logged in."))
            await remember(r, ins)
            return


def login_command(r: Reader, raw: str, help_about: str = "login") -> bool:
    """``q``, ``h`` (or ``?``) or ``w`` typed alone at a login question (the INS, the password,
    the code): quit, or say the help or where the patient is; True when it was one. A
    password is never a single letter (the host's strength rules), nor a code (digits)."""
    word = raw.strip().lower()
    if word == "q":
        raise Quit
    if word in ("h", "?"):
        print_help(r, help_about)
        return True
    if word == "w":
        r.say("info", where_line(help_about))
        return True
    return False


async def ask_password(r: Reader) -> str | None:
    """The password (not echoed), or None for Enter alone (back to the INS). ``q``, ``h`` or
    ``w`` alone is the command, never a password; ``f`` (forgotten password) or ``p`` (lost
    phone) alone starts that recovery (``Recover``)."""
    while True:
        password = await r.ask(_("Password (not shown as you type):"), secret=True)
        if not password.strip():
            r.say("info", _("Back to the INS question."))
            return None
        if login_command(r, password):
            continue
        if password.strip().lower() in RECOVERY_KEYS:
            raise Recover(RECOVERY_KEYS[password.strip().lower()])
        return password


# --- forgotten password, lost phone (dmptui.actions.recovery) -------------------------------

RECOVERY_KEYS = {"f": "reset", "p": "reenrol"}  # typed alone at the password question


class Recover(Exception):
    """The patient chose a recovery at the password question."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def recovery_hint() -> str:
    from dmptui.actions import recovery as words

    return _("At the password question, type f alone for “{forgot}”, p alone for “{lost}”.").format(
        forgot=_(words.FORGOT_PASSWORD), lost=_(words.LOST_PHONE)
    )


@handles("login.forgot_password")
async def forgot_password(r: Reader) -> None:
    await recover(r, "reset")


@handles("login.lost_phone")
async def lost_phone(r: Reader) -> None:
    await recover(r, "reenrol")


async def recover(r: Reader, kind: str) -> None:
    """A forgotten password or a lost phone, step by step (the core says every word); Enter
    alone at a question goes back to the login."""
    from dmptui.actions import recovery as words

    recovery = words.Reset(r.ins) if kind == "reset" else words.Reenrol(r.ins)
    r.say("info", f"{_(recovery.title)}. {recovery.intro()}")
    offered = r.ins  # typed at the login's INS question: not asked again (once)
    while not recovery.finished:
        ask = recovery.ask()
        if ask.field == "ins" and offered:
            value, offered = offered, ""
        elif ask.field == "enrolment" and recovery.enrolment is not None:
            r.say("info", _(words.ENROLMENT_SPOKEN))
            r.say("item", spelled_groups(recovery.enrolment.secret))
            r.say("info", ask.help)
            value = ""
        elif ask.choices:
            entries = [Entry(str(i), label) for i, (_v, label) in enumerate(ask.choices, 1)]
            entries.append(Entry("0", _(words.BACK_TO_LOGIN_READER)))
            show_menu(r, ask.label, entries)
            answer = await ask_code_choice(r, "login")
            if answer in ("0", "b"):
                return
            if not answer.isdigit() or not 1 <= int(answer) <= len(ask.choices):
                r.wrong_choice(answer, _("Type one of the numbers above."))
                continue
            value = ask.choices[int(answer) - 1][0]
        else:
            r.say("info", ask.help)
            raw = await r.ask(labelled(ask.label), secret=ask.secret)
            if not raw.strip():
                r.say("info", _(words.BACK_TO_LOGIN_READER))
                return
            if login_command(r, raw):
                continue
            value = raw.strip() if ask.field in ("ins", "code") else raw
        try:
            said = await r.call(
                _(words.WORKING), partial(recovery.give, r.client, value), relogin=False
            )
        except words.Problem as problem:
            r.say("error", problem.text)
            continue
        except Failed as failed:
            recovery.failed(failed.error)  # said already; back where it must start again
            continue
        if said:
            r.say("done", said)
    r.say("info", recovery.ask().help)


# --- "remember me on this device": the refresh token in the OS keyring ------------------------

REMEMBER_KEY = "r"  # toggles "remember me" in the menu of the code's ways


def remember_entry(r: Reader) -> str:
    """The menu line of "remember me", with its state (the TUI's tick box, in words)."""
    state = _("yes") if r.remember else _("no")
    return _("r. {label}: {state} (r changes it)").format(
        label=_(login_words.REMEMBER_ME), state=state
    )


async def resume_remembered(r: Reader) -> bool:
    """At the first login only: a session remembered on this device (the INS given, else the
    last one remembered) opened without the password. False when there is none, or it ended
    (then it is forgotten, and said)."""
    from dmptui.client import HostError, SessionExpired
    from dmptui.explain import app_failure, explain
    from dmptui.session import LAST_ACCOUNT, keep_in_sync

    store = r.config.token_store
    if store is None or r.tried_remembered:
        return False
    r.tried_remembered = True
    account = r.ins or await asyncio.to_thread(store.load, LAST_ACCOUNT)
    token = await asyncio.to_thread(store.load, account) if account else None
    if not account or not token:
        return False
    r.say("wait", _(login_words.OPENING_REMEMBERED))
    try:
        await r.client.resume(token)
        await r.client.record()
    except SessionExpired:
        await asyncio.to_thread(store.delete, account)
        r.say("info", _(login_words.REMEMBERED_ENDED))
        return False
    except (HostError, OSError, ValueError) as error:
        r.say("error", explain(error) if isinstance(error, HostError) else app_failure(error))
        return False
    r.ins = account
    r.remember = True
    keep_in_sync(r.client, store, account)
    return True


async def remember(r: Reader, ins: str) -> None:
    """After a login with "remember me" on: keep the refresh token in the keyring (read back,
    never a plain file), and keep it current as the host rotates it; say whether it was."""
    from dmptui.session import LAST_ACCOUNT, keep_in_sync

    store = r.config.token_store
    token = r.client.refresh_token
    if store is None or not r.remember or not token:
        return
    result = await asyncio.to_thread(store.save, ins, token)
    if not result.stored:
        r.say("warning", _(login_words.NOT_REMEMBERED))
        return
    await asyncio.to_thread(store.save, LAST_ACCOUNT, ins)
    keep_in_sync(r.client, store, ins)
    r.say("done", _(login_words.REMEMBERED))


async def ask_ins(r: Reader) -> str:
    while True:
        if r.ins:
            question = _("INS (15 characters). Press Enter to keep {ins}:").format(
                ins=spoken_ins(r.ins)
            )
        else:
            question = _("INS (national health identifier, 15 characters):")
        raw = (await r.ask(question)).strip()
        if login_command(r, raw):
            continue
        try:
            ins = parse_ins(raw or r.ins).value
        except IdentifierError as error:
            r.say("error", login_words.ins_problem(error))
            continue
        r.ins = ins
        return ins


@handles("login.submit")
async def submit(r: Reader, ins: str, password: str) -> Any:
    return await r.call(
        _(login_words.CHECKING_PASSWORD), lambda: r.client.login(ins, password), relogin=False
    )


def code_entries(channels: set[str], last: Entry) -> list[Entry]:
    """Where the code comes from (``login_words.CODE_SOURCES``), then ``last``."""
    entries = [
        Entry(key, _(login_words.CODE_SOURCES[channel]))
        for key, channel in (("1", "totp"), ("2", "sms"), ("3", "email"))
        if channel in channels
    ]
    return [*entries, last]


async def code_step(r: Reader, challenge: Any) -> bool:
    """The one-time code of a login: True when logged in, False to start again."""
    if challenge.activation_required and not await activation_step(r, challenge.challenge):
        return False
    channels = set(challenge.channels)
    while True:
        entries = code_entries(channels, Entry("0", _("Start again with the INS and password")))
        show_menu(r, _("One-time code:"), entries)
        if r.config.token_store is not None:
            r.say("item", remember_entry(r))
        answer = await ask_code_choice(r, "login")
        if answer == "":
            continue  # Enter alone: the menu again
        if answer in ("0", "b"):
            return False
        if answer == REMEMBER_KEY and r.config.token_store is not None:
            r.remember = not r.remember
            continue
        if answer not in {e.key for e in entries}:
            r.wrong_choice(answer, _("Type one of the numbers above."))
            continue
        if answer in ("2", "3"):
            channel = "sms" if answer == "2" else "email"
            try:
                await HANDLERS[f"login.send_{channel}"](r, challenge.challenge)
            except Failed as failed:
                if error_kind(failed.error) in RESTART:
                    return False
                continue
        result = await enter_code(
            r, lambda code: r.client.verify(challenge.challenge, code), relogin=False
        )
        if result == "ok":
            return True
        if result == "restart":
            return False


async def activation_step(r: Reader, challenge: str) -> bool:
    """A record not yet activated: the activation code of the letter, which gives the
    authenticator's secret (spelled out). True once activated, False to start again."""
    r.say("info", _(login_words.ACTIVATION_ASKED))
    while True:
        raw = (await r.ask(_(login_words.ACTIVATION_QUESTION))).strip()
        if not raw:
            return False
        if login_command(r, raw):
            continue
        if problem := login_words.activation_problem(raw):
            r.say("error", problem)
            continue
        try:
            enrolment = await r.call(
                _(login_words.CHECKING_ACTIVATION),
                partial(r.client.activate, challenge, raw),
                relogin=False,
            )
        except Failed as failed:
            if error_kind(failed.error) in (*RESTART, "already_activated"):
                return False
            continue
        r.say("done", _(login_words.ACTIVATED_SPOKEN))
        r.say("item", spelled_groups(enrolment.secret))
        return True


async def ask_code_choice(r: Reader, help_about: str) -> str:
    """The answer to "how do you want your code" at login (not logged in: no other screen
    to go to); "" for Enter alone (the menu is read again)."""
    while True:
        answer = (await r.ask(_("Your choice:"))).strip().lower().rstrip(".")
        if login_command(r, answer, help_about):
            continue
        return answer


async def enter_code(r: Reader, check: Callable[[str], Awaitable[Any]], relogin: bool) -> str:
    """Read a code (not echoed) and check it: "ok", "again" (back to the menu) or "restart"."""
    while True:
        raw = await r.ask(
            _("One-time code, 6 digits (not shown as you type; Enter alone goes back):"),
            secret=True,
        )
        code = raw.replace(" ", "").strip()
        if not code:
            return "again"
        if login_command(r, code, "login" if not relogin else r.screen):
            continue
        if not (code.isascii() and code.isdigit()):
            r.say(
                "error",
                _("the code is made of digits only, with no letters. Type the code again."),
            )
            continue
        if len(code) != 6:
            r.say(
                "error",
                _("the code has 6 digits; you typed {n}. Type the code again.").format(n=len(code)),
            )
            continue
        try:
            await r.call(_(login_words.CHECKING_CODE), partial(check, code), relogin=relogin)
        except Failed as failed:
            if error_kind(failed.error) in RESTART:
                return "restart"
            continue
        return "ok"


@handles("login.send_sms")
async def send_sms(r: Reader, challenge: str) -> None:
    await send_code(r, "sms", lambda: r.client.send_code(challenge, "sms"), relogin=False)


@handles("login.send_email")
async def send_email(r: Reader, challenge: str) -> None:
    await send_code(r, "email", lambda: r.client.send_code(challenge, "email"), relogin=False)


CODE = re.compile(r"(?<![\w/.:-])[0-9]{6}(?![\w/.:-])")


def spelled_codes(text: str) -> str:
    """A message's one-time code digit by digit ('481027' -> '4 8 1 0 2 7'), not a number."""
    return CODE.sub(lambda m: spelled(m.group()), text)


def spoken_destination(destination: str) -> str:
    """ "•• •• •• 78" -> "… 78": the hidden part as one pause, not "bullet" six times."""
    return re.sub(r"•[•\s]*•|•", "…", destination).strip()


async def send_code(
    r: Reader, channel: str, send: Callable[[], Awaitable[Any]], relogin: bool
) -> None:
    before = len(await demo_messages(r))
    sent = await r.call(login_words.sending(channel), send, relogin=relogin)
    r.say("done", login_words.code_sent(spoken_destination(sent.destination), sent.expires_in))
    await demo_phone(r, before, channel)


# --- the demo phone --------------------------------------------------------------------------

LATEST = 5  # messages read by the command "d" (the demo phone), newest first


async def demo_messages(r: Reader) -> list[dict[str, Any]]:
    """Every message the demo host sent, oldest first (none outside the demo)."""
    if r.config.demo is None:
        return []
    return await asyncio.to_thread(r.config.demo.messages)


def say_message(r: Reader, message: dict[str, Any]) -> None:
    lines = message_body(message).splitlines()
    body = spelled_codes(" ".join(line.strip() for line in lines if line.strip()))
    r.say("demo", f"{message_heading(message)}: {body}")


async def demo_phone(r: Reader, before: int, channel: str) -> None:
    """In the demo, say what the demo host sent (it delivers every half second)."""
    if r.config.demo is None:
        return
    deadline = time.monotonic() + 5.0
    while True:
        new = (await demo_messages(r))[before:]
        if any(m.get("channel") == channel for m in new) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    for m in new:
        say_message(r, m)
    if not any(m.get("channel") == channel for m in new):
        r.say(
            "warning",
            _("the demo phone has no new message yet. Ask for a code again in a moment."),
        )


@handles("app.demo_phone")
async def read_demo_phone(r: Reader) -> None:
    """d, on any menu: the latest messages of the demo phone, newest first."""
    if r.config.demo is None:
        r.say("info", _(NOT_THE_DEMO))
        return
    messages = await demo_messages(r)
    if not messages:
        r.say("info", _(PHONE_EMPTY))
        return
    latest = messages[-LATEST:][::-1]
    r.say(
        "info",
        _("The demo phone: the latest {shown} of {total} messages, newest first.").format(
            shown=len(latest), total=len(messages)
        ),
    )
    for m in latest:
        say_message(r, m)


# --- a fresh code ----------------------------------------------------------------------------


async def step_up(r: Reader) -> bool:
    """Ask for a fresh one-time code and give it to the host: True when accepted."""
    entries = code_entries({"totp", "sms", "email"}, Entry("0", _(CANCEL)))
    title = _(login_words.STEP_UP_MENU)  # why a code is asked, then the menu, in one heading
    while True:
        show_menu(r, title, entries)
        title = _("One-time code:")
        try:  # logged in: every question's commands (m, g3, l, q…); 0 or b cancels
            answer = await r.ask_choice()
        except Back:
            return False
        if answer == "":
            continue
        if answer == "0":
            return False
        if answer not in ("1", "2", "3"):
            r.wrong_choice(answer, _("Type one of the numbers above."))
            continue
        if answer in ("2", "3"):
            channel = "sms" if answer == "2" else "email"
            try:
                await send_code(r, channel, partial(r.client.step_up_send, channel), True)
            except Failed:
                continue
        if await enter_code(r, r.client.step_up, relogin=True) == "ok":
            return True

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
from dmptui.explain import error_kind
from dmptui.i18n import _
from dmptui.identifiers import IdentifierError, parse_ins
from dmptui.reader.flow import Failed, Quit
from dmptui.reader.menus import (
    HANDLERS,
    Entry,
    handles,
    print_help,
    show_menu,
)

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 0: log in ------------------------------------------------------------------------

RESTART = ("challenge_expired", "invalid_credentials", "locked", "too_many_codes")


async def login(r: Reader, resume: bool = False) -> None:
    """INS, password (not echoed), then the one-time code. Returns once logged in, with the
    record state emptied unless the same patient logged in again (``resume``): the screen shown
    next (home, or the one the patient was on) loads it again."""
    r.enter("login")
    held = r.ins
    if not resume:
        r.say("info", _("Type your INS and your password, pressing Enter after each."))
    while True:
        ins = await ask_ins(r)
        password = await r.ask(_("Password (not shown as you type):"), secret=True)
        if not password:
            r.say("error", _(login_words.PASSWORD_MISSING))
            continue
        try:
            challenge = await HANDLERS["login.submit"](r, ins, password)
        except Failed:
            continue
        if await code_step(r, challenge):
            if not resume or ins != held:
                r.state.clear()
            r.last_input = time.monotonic()
            r.say("done", _("you are logged in."))
            return


async def ask_ins(r: Reader) -> str:
    while True:
        if r.ins:
            question = _("INS (15 characters). Press Enter to keep {ins}:").format(ins=r.ins)
        else:
            question = _("INS (national health identifier, 15 characters):")
        raw = (await r.ask(question)).strip()
        if raw.lower() == "q":
            raise Quit
        if raw.lower() in ("h", "?"):
            print_help(r, "login")
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
    entries = []
    if "totp" in channels:
        entries.append(Entry("1", _("Code from my authenticator app")))
    if "sms" in channels:
        entries.append(Entry("2", _(login_words.SEND_SMS)))
    if "email" in channels:
        entries.append(Entry("3", _(login_words.SEND_EMAIL)))
    return [*entries, last]


async def code_step(r: Reader, challenge: Any) -> bool:
    """The one-time code of a login: True when logged in, False to start again."""
    if challenge.enrolment is not None:
        secret = challenge.enrolment.secret
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        r.say(
            "info",
            _(
                "First login: add your record to an authenticator app. Type this secret in "
                "the app (the spaces do not matter): {secret}"
            ).format(secret=grouped),
        )
    channels = set(challenge.channels)
    entries = code_entries(channels, Entry("0", _("Start again with the INS and password")))
    while True:
        show_menu(r, _("How do you want to get your one-time code?"), entries)
        answer = await ask_code_choice(r, "login")
        if answer in ("0", "b"):
            return False
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


async def ask_code_choice(r: Reader, help_about: str) -> str:
    while True:
        answer = (await r.ask(_("Your choice:"))).strip().lower().rstrip(".")
        if answer == "q":
            raise Quit
        if answer in ("h", "?"):
            print_help(r, help_about)
            continue
        if answer:
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


async def demo_messages(r: Reader) -> list[dict[str, Any]]:
    if r.config.demo_phone is None:
        return []
    return await asyncio.to_thread(r.config.demo_phone)


async def demo_phone(r: Reader, before: int, channel: str) -> None:
    """In the demo, say what the demo host sent (it delivers every half second)."""
    if r.config.demo_phone is None:
        return
    deadline = time.monotonic() + 5.0
    while True:
        new = (await demo_messages(r))[before:]
        if any(m.get("channel") == channel for m in new) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    for m in new:
        kind = "SMS" if m.get("channel") == "sms" else _(login_words.DEMO_EMAIL)
        lines = str(m.get("body", "")).splitlines()
        body = " ".join(line.strip() for line in lines if line.strip())
        r.say(
            "demo",
            _("{kind} to {recipient}: {body}").format(
                kind=kind, recipient=m.get("recipient", ""), body=body
            ),
        )
    if not any(m.get("channel") == channel for m in new):
        r.say(
            "warning",
            _("the demo phone has no new message yet. Ask for a code again in a moment."),
        )


# --- a fresh code ----------------------------------------------------------------------------


async def step_up(r: Reader) -> bool:
    """Ask for a fresh one-time code and give it to the host: True when accepted."""
    r.say("info", _(login_words.STEP_UP_NEEDED))
    entries = code_entries({"totp", "sms", "email"}, Entry("0", _(CANCEL)))
    while True:
        show_menu(r, _("How do you want to get your one-time code?"), entries)
        answer = await ask_code_choice(r, r.screen)
        if answer in ("0", "b"):
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

"""dmptui.client against the real host over HTTP (the ``host`` fixture), and against real tiny
servers on loopback for the failures a real host should not produce (500, HTML, slowness)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from hostkit import LiveHost

from dmptui.client import (
    AccountErased,
    ChallengeExpired,
    Client,
    HostError,
    HostServerError,
    HostTimeout,
    HostUnreachable,
    InvalidCode,
    InvalidCredentials,
    InvalidInput,
    InvalidResponse,
    Locked,
    NotFound,
    Refused,
    SessionExpired,
    Stale,
    StepUpRequired,
    TooManyCodes,
)
from dmptui.explain import explain
from dmptui.schema import DocType, Label, Mode, RecordStatus, Tokens

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def logged_in(host: LiveHost, **kwargs: Any) -> Client:
    client = Client(host.url, **kwargs)
    challenge = await client.login(host.ins, host.password)
    await client.verify(challenge.challenge, host.code())
    return client


def outbox_code(host: LiveHost, channel: str) -> str:
    return host.outbox_body(channel).split(":")[1].split()[0]


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    for text in (str(error), repr(error), str(error.args)):
        for secret in secrets:
            assert secret not in text


# --- the whole API, on the demo record ------------------------------------------------------


def test_login_then_every_read(host: LiveHost) -> None:
    async def go() -> None:
        seen: list[Tokens] = []
        async with Client(host.url) as client:
            client.on_tokens = seen.append
            assert not client.logged_in
            challenge = await client.login(host.ins, host.password)
            assert "totp" in challenge.channels and challenge.enrolment is None
            assert not challenge.activation_required  # the demo record is activated
            tokens = await client.verify(challenge.challenge, host.code())
            assert client.logged_in and client.access_token == tokens.access_token
            assert client.refresh_token == tokens.refresh_token
            assert seen == [tokens]
            assert tokens.access_token not in repr(client)

            record = await client.record()
            assert record.ins == host.ins and record.status == RecordStatus.ACTIVE
            assert record.counts["documents"] > 3 and record.attending is not None

            page = await client.documents()
            assert page.items and len(page.items) == record.counts["documents"]
            first = page.items[0]
            assert (await client.document(first.id)).title == first.title
            body, content_type = await client.content(first.id)
            assert content_type.startswith("text/plain") and len(body) == first.size

            # Paging walks every document once; filters reach the host.
            ids, cursor = [], None
            while True:
                part = await client.documents(limit=2, cursor=cursor)
                ids += [d.id for d in part.items]
                cursor = part.next_cursor
                if cursor is None:
                    break
            assert ids == [d.id for d in page.items]
            labs = await client.documents(type=DocType.LAB_REPORT)
            assert labs.items and {d.type for d in labs.items} == {DocType.LAB_REPORT.value}
            word = first.title.split()[0]
            assert first.id in {d.id for d in (await client.documents(q=word)).items}

            with pytest.raises(NotFound) as e:
                await client.document("no-such-document")
            assert e.value.status == 404 and e.value.code == "not_found"
            with pytest.raises(NotFound):
                await client.document("../../record")  # escaped: never another route
            for bad in ("", "..", "."):
                with pytest.raises(InvalidInput) as e:
                    await client.delete_document(bad)
                assert e.value.field == "doc_id"
            with pytest.raises(InvalidInput) as e:
                await client.documents(cursor="not-a-cursor")
            assert e.value.field == "cursor"

            people = await client.practitioners()
            assert people.attending is not None and people.authorised
            found = await client.directory(people.attending.name.split()[-1])
            assert people.attending.rpps in {p.rpps for p in found.items}

            trace = await client.trace()
            assert trace.items and trace.items[0].action == "trace.read"
            assert [e.seq for e in trace.items] == sorted(
                (e.seq for e in trace.items), reverse=True
            )
            emergency = await client.trace(mode=Mode.BREAK_GLASS)
            assert emergency.items and {e.mode for e in emergency.items} == {"break-glass"}
            rpps = emergency.items[0].actor_rpps
            assert rpps and (await client.trace(actor=rpps)).items
            since = trace.items[0].at - timedelta(seconds=1)
            recent = await client.trace(since=since)
            assert recent.items and all(e.at >= since for e in recent.items)
            older = await client.trace(limit=3, cursor=(await client.trace(limit=3)).next_cursor)
            assert len(older.items) == 3

            notes = await client.notes()
            assert notes.text

            notices = await client.notifications()
            assert notices.items

            await client.logout()
            assert not client.logged_in and client.access_token is None
            with pytest.raises(SessionExpired):
                await client.record()

    run(go())


def test_every_change(host: LiveHost) -> None:
    async def go() -> None:
        async with await logged_in(host) as client:
            doc = (await client.documents()).items[0]
            masked = await client.mask(doc.id)
            assert Label.MASQUE_PS in masked.labels
            assert Label.MASQUE_PS in (await client.document(doc.id)).labels
            assert Label.MASQUE_PS not in (await client.unmask(doc.id)).labels

            people = await client.practitioners()
            known = {people.attending.rpps} | {  # type: ignore[union-attr]
                p.practitioner.rpps for p in people.authorised
            }
            found = (await client.directory("Arnaud")).items
            newcomer = next(p for p in found if p.may_access and p.rpps not in known)
            assert newcomer.profession == "medecin"
            after = await client.authorise(newcomer.rpps)
            link = next(p for p in after.authorised if p.practitioner.rpps == newcomer.rpps)
            assert not link.see_masked
            after = await client.authorise(newcomer.rpps, see_masked=True)
            link = next(p for p in after.authorised if p.practitioner.rpps == newcomer.rpps)
            assert link.see_masked
            after = await client.revoke(newcomer.rpps)
            assert newcomer.rpps not in {p.practitioner.rpps for p in after.authorised}
            with pytest.raises(NotFound) as e:
                await client.revoke(newcomer.rpps)
            assert e.value.field == "rpps"

            after = await client.block(newcomer.rpps)
            assert newcomer.rpps in {p.practitioner.rpps for p in after.blocked}
            with pytest.raises(Refused) as e:
                await client.designate_attending(newcomer.rpps)
            assert e.value.reason == "blocked" and e.value.status == 403
            after = await client.unblock(newcomer.rpps)
            assert not after.blocked

            after = await client.designate_attending(newcomer.rpps)
            assert after.attending is not None and after.attending.rpps == newcomer.rpps
            assert (await client.record()).attending.rpps == newcomer.rpps  # type: ignore[union-attr]

            saved = await client.save_notes("Allergie : pénicilline.\nGroupe O+")
            assert saved.updated_at is not None
            assert (await client.notes()).text == "Allergie : pénicilline.\nGroupe O+"
            with pytest.raises(InvalidInput) as e:
                await client.save_notes("bell\x07")
            assert e.value.field == "text"

            # A new device notifies; then everything is read.
            async with await logged_in(host, device_id="another-phone") as other:
                await other.logout()
            unread = await client.notifications(unread=True)
            assert "new_device" in {n.kind for n in unread.items}
            assert all(not n.read for n in unread.items)
            await client.mark_notifications_read()
            assert (await client.notifications(unread=True)).items == []
            assert (await client.record()).unread_notifications == 0

            # Sensitive actions: the login is fresh for 5 minutes, then a code is needed.
            host.clock.advance(minutes=6)
            with pytest.raises(StepUpRequired) as e:
                await client.set_oppositions(break_glass=True, regulation=False)
            assert e.value.status == 401
            with pytest.raises(InvalidCode):
                await client.step_up("000000")
            done = await client.step_up(host.code())
            assert done.fresh_for == 300
            opp = await client.set_oppositions(break_glass=True, regulation=False)
            assert opp.break_glass and not opp.regulation
            assert (await client.record()).oppositions.break_glass

            # A code by SMS for the next step-up.
            host.clock.advance(minutes=6)
            sent = await client.step_up_send("sms")
            assert sent.channel == "sms" and sent.expires_in > 0
            await client.step_up(outbox_code(host, "sms"))
            await client.delete_document(doc.id)
            with pytest.raises(NotFound):
                await client.document(doc.id)

            trace = await client.trace(limit=200)
            actions = {e.action for e in trace.items}
            assert {"document.mask", "document.delete", "oppositions", "block"} <= actions
            refused = [e for e in trace.items if e.outcome == "denied"]
            assert {"step_up_required", "blocked"} <= {e.reason for e in refused}

    run(go())


def test_close_reactivate_and_erase(host: LiveHost) -> None:
    async def go() -> None:
        ended: list[bool] = []
        client = await logged_in(host)
        client.on_session_end = lambda: ended.append(True)
        old_refresh = client.refresh_token
        assert old_refresh is not None
        done = await client.close_record()
        assert done.status == RecordStatus.CLOSED and done.message["fr"]
        assert not client.logged_in and ended == [True]
        with pytest.raises(SessionExpired):
            await client.record()
        # The host ended the session too: the old refresh token is dead.
        with pytest.raises(SessionExpired):
            await client.resume(old_refresh)
        await client.aclose()

        # A closed record: login works, status only, reactivation with the fresh login.
        async with await logged_in(host) as client:
            record = await client.record()
            assert record.status == RecordStatus.CLOSED and record.purge_after is not None
            with pytest.raises(Refused) as e:
                await client.documents()
            assert e.value.reason == "record_closed"
            done = await client.reactivate_record()
            assert done.status == RecordStatus.ACTIVE
            assert (await client.documents()).items
            with pytest.raises(Refused) as e:
                await client.reactivate_record()
            assert e.value.reason == "record_not_closed"
            done = await client.erase_record()
            assert done.status == RecordStatus.ERASED and not client.logged_in
            # Erased for good: the account is gone with everything else. Changed with the
            # lockout of issue 12: the right password is told so (its hash is all that stays);
            # any other password gets the usual answer.
            with pytest.raises(AccountErased):
                await client.login(host.ins, host.password)
            with pytest.raises(InvalidCredentials):
                await client.login(host.ins, "Pas-le-bon-mot-2026")

    run(go())


def test_a_change_based_on_an_old_version_is_stale_and_says_so(host: LiveHost) -> None:
    """Two sessions of the patient: what one loaded, the other changed; the first one's change
    is refused (412 -> Stale, in words), nothing is changed, and after a reload it goes through."""
    from dmptui import i18n

    async def go() -> None:
        async with await logged_in(host) as a, await logged_in(host) as b:
            rpps = host.practitioner("emergency")["rpps"]
            await a.practitioners()
            await a.notes()
            doc = (await a.documents()).items[0]
            await b.authorise(rpps)
            await b.save_notes("from b")
            await b.mask(doc.id)
            for change in (
                lambda: a.revoke(rpps),
                lambda: a.save_notes("from a"),
                lambda: a.unmask(doc.id),
            ):
                with pytest.raises(Stale) as e:
                    await change()
                assert e.value.status == 412 and e.value.code == "stale"
                assert "changed elsewhere" in e.value.message
            assert (await b.notes()).text == "from b"
            # Reloaded, the patient decides again: now it goes through.
            assert (await a.notes()).text == "from b"
            assert (await a.save_notes("from a")).text == "from a"
            await a.practitioners()
            assert rpps not in {p.practitioner.rpps for p in (await a.revoke(rpps)).authorised}
            i18n.set_language("fr")
            with pytest.raises(Stale) as e:
                await b.save_notes("b again")
            assert "modifié ailleurs" in e.value.message and "rechargé" in e.value.message
            assert "modifié ailleurs" in explain(e.value)

    run(go())


# --- sessions: refresh and replay --------------------------------------------------------


def test_a_resumed_session_is_refreshed_once_for_calls_made_at_once(host: LiveHost) -> None:
    # Changed with the refresh rule: this test used to let the access token idle out (16 min)
    # and expect the refresh to bring the session back. A refresh token now lives no longer
    # than its session (see test_an_idle_session_is_not_refreshed_and_says_why); what the
    # refresh is for is a session resumed from its refresh token alone ("remember me"), or one
    # whose access token the client lost.
    async def go() -> None:
        seen: list[Tokens] = []
        async with await logged_in(host) as client:
            client.on_tokens = seen.append
            first_access, first_refresh = client.access_token, client.refresh_token
            host.clock.advance(minutes=14)
            client.access_token = None  # only the refresh token is left
            record = await client.record()
            assert record.ins == host.ins
            assert len(seen) == 1
            assert client.access_token == seen[0].access_token != first_access
            assert client.refresh_token == seen[0].refresh_token != first_refresh

            # Several calls at once with no access token: one refresh, every call made.
            client.access_token = None
            results = await asyncio.gather(
                client.record(), client.documents(limit=3), client.trace(limit=3)
            )
            assert results[0].ins == host.ins and len(results[1].items) == 3
            assert len(seen) == 2

            # "Remember me": a stored refresh token resumes the session elsewhere.
            async with Client(host.url) as other:
                await other.resume(client.refresh_token or "")
                assert (await other.record()).ins == host.ins
                # Logging out from a stored refresh token alone ends that session on the host.
                async with Client(host.url) as third:
                    third.refresh_token = other.refresh_token
                    await third.logout()
                    assert third.refresh_token is None
                with pytest.raises(SessionExpired):
                    await other.record()
                assert not other.logged_in and other.refresh_token is None

    run(go())


def test_an_idle_session_is_not_refreshed_and_says_why(host: LiveHost) -> None:
    from dmptui import i18n

    async def go() -> None:
        ended: list[bool] = []
        async with await logged_in(host) as client:
            client.on_session_end = lambda: ended.append(True)
            host.clock.advance(minutes=15, seconds=30)  # idle: the refresh is refused too
            with pytest.raises(SessionExpired) as e:
                await client.record()
            assert (e.value.code, e.value.reason) == ("session_expired", "idle")
            assert client.access_token is None and client.refresh_token is None
            assert ended == [True]
            assert "15 minutes without activity" in explain(e.value)
            assert "Log in again" in explain(e.value)
            i18n.set_language("fr")
            assert "15 minutes sans activité" in explain(e.value)
            assert "Reconnectez-vous" in explain(e.value)

    run(go())


def test_a_reused_refresh_token_ends_the_session_for_its_newer_holder(host: LiveHost) -> None:
    from dmptui import i18n

    async def go() -> None:
        async with await logged_in(host) as client:
            stolen = client.refresh_token or ""
            client.access_token = None
            await client.record()  # the app refreshed: ``stolen`` is spent
            async with Client(host.url) as thief:
                with pytest.raises(SessionExpired) as reused:
                    await thief.resume(stolen)
                assert reused.value.reason == "refresh_reused"
                assert not thief.logged_in and thief.refresh_token is None
            # The app's newer tokens are dead too: the session has ended, log in again.
            with pytest.raises(SessionExpired) as e:
                await client.record()
            assert client.access_token is None and client.refresh_token is None
            assert "Log in again" in explain(e.value)
            assert "used twice" in explain(reused.value)
            assert "Log in again" in explain(reused.value)
            i18n.set_language("fr")
            text = explain(reused.value)
            assert "utilisée deux fois" in text and "Reconnectez-vous" in text
            assert "Reconnectez-vous" in explain(e.value)

    run(go())


def test_a_refused_refresh_ends_the_session(host: LiveHost) -> None:
    async def go() -> None:
        ended: list[bool] = []
        async with await logged_in(host) as client:
            client.on_session_end = lambda: ended.append(True)
            host.clock.advance(hours=13)  # past the 12-hour absolute limit
            with pytest.raises(SessionExpired) as e:
                await client.record()
            assert client.access_token is None and client.refresh_token is None
            assert ended == [True]
            assert_no_secret(e.value, host.password)

    run(go())


# --- errors from the real host -----------------------------------------------------------


def test_login_errors(host: LiveHost) -> None:
    async def go() -> None:
        async with Client(host.url) as client:
            with pytest.raises(InvalidInput) as e:
                await client.login("123", host.password)
            assert e.value.field == "ins" and e.value.status == 422
            assert_no_secret(e.value, host.password)

            with pytest.raises(InvalidCredentials) as e:
                await client.login(host.ins, "not the password")
            assert e.value.status == 401
            assert_no_secret(e.value, "not the password")

            challenge = await client.login(host.ins, host.password)
            good = host.totp.at(host.clock())
            wrong = f"{(int(good) + 500_000) % 1_000_000:06d}"
            with pytest.raises(InvalidCode) as e:
                await client.verify(challenge.challenge, wrong)
            assert e.value.field == "code"
            assert_no_secret(e.value, wrong, challenge.challenge)
            with pytest.raises(InvalidInput) as e:
                await client.verify(challenge.challenge, "12345")
            assert e.value.field == "code"
            assert not client.logged_in

            with pytest.raises(ChallengeExpired):
                await client.verify("no-such-challenge", host.code())

            for _ in range(3):
                sent = await client.send_code(challenge.challenge, "email")
                assert sent.channel == "email" and "@" in sent.destination
            with pytest.raises(TooManyCodes):
                await client.send_code(challenge.challenge, "email")
            with pytest.raises(InvalidInput) as e:
                await client.send_code(challenge.challenge, "pigeon")
            assert e.value.field == "channel"

            # A code sent by email logs in.
            fresh = await client.login(host.ins, host.password)
            await client.send_code(fresh.challenge, "email")
            await client.verify(fresh.challenge, outbox_code(host, "email"))
            assert client.logged_in

    run(go())


def test_failed_attempts_lock_the_account(host: LiveHost) -> None:
    async def go() -> None:
        async with Client(host.url) as client:
            for _ in range(5):
                with pytest.raises(InvalidCredentials):
                    await client.login(host.ins, "wrong password")
            with pytest.raises(Locked) as e:
                await client.login(host.ins, host.password)
            assert e.value.status == 429 and e.value.retry_after is not None
            assert 0 < e.value.retry_after <= 15 * 60 + 1

    run(go())


def test_the_attending_cannot_be_blocked(host: LiveHost) -> None:
    async def go() -> None:
        async with await logged_in(host) as client:
            attending = (await client.practitioners()).attending
            assert attending is not None
            with pytest.raises(Refused) as e:
                await client.block(attending.rpps)
            assert e.value.reason == "attending_cannot_be_blocked" and e.value.status == 403
            with pytest.raises(InvalidInput) as e:
                await client.block("12")
            assert e.value.field == "rpps"

    run(go())


# --- errors from the network and from hosts that misbehave ----------------------------------


@contextmanager
def closed_port() -> Iterator[int]:
    """A port nobody listens on. The socket stays bound (never listening) while the test runs,
    so no other process on this machine can take the port meanwhile; connecting is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


class Tiny:
    """A real HTTP server on loopback answering every request with ``answer(handler)``."""

    def __init__(self, answer: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.hits: list[tuple[str, str]] = []
        self.headers: list[dict[str, str]] = []  # Idempotency-Key and If-Match of each hit
        tiny = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                tiny.hits.append((self.command, self.path))
                tiny.headers.append(
                    {
                        k: v
                        for k in ("Idempotency-Key", "If-Match")
                        if (v := self.headers.get(k)) is not None
                    }
                )
                answer(self)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@contextmanager
def tiny_server(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[Tiny]:
    tiny = Tiny(answer)
    tiny.thread.start()
    try:
        yield tiny
    finally:
        tiny.server.shutdown()
        tiny.server.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def with_token(client: Client) -> Client:
    client.access_token = "pretend-access-token"
    return client


def test_a_closed_port_is_unreachable() -> None:
    async def go(url: str) -> None:
        async with Client(url, retries=1) as client:
            with pytest.raises(HostUnreachable) as e:
                await client.login("123456789012345", "secret password")
            assert e.value.code == "unreachable" and e.value.status is None
            assert_no_secret(e.value, "secret password")
            with pytest.raises(HostUnreachable) as e:
                await with_token(client).record()
            assert_no_secret(e.value, "pretend-access-token")
            # Logging out with the host gone still forgets the tokens here.
            client.refresh_token = "pretend-refresh-token"
            with pytest.raises(HostUnreachable):
                await client.logout()
            assert client.access_token is None and client.refresh_token is None

    with closed_port() as port:
        run(go(f"http://127.0.0.1:{port}"))


def test_5xx_is_retried_for_get_and_keyed_changes_never_for_an_unkeyed_post() -> None:
    def fail(h: BaseHTTPRequestHandler) -> None:
        send(h, 500, b'{"error": "boom"}', "application/json")

    async def go(url: str) -> None:
        async with Client(url, retries=2) as client:
            client.backoff = 0.01
            with pytest.raises(HostServerError) as e:
                await with_token(client).record()
            assert e.value.status == 500 and e.value.code == "server_error"
            with pytest.raises(HostServerError):
                await client.login("123456789012345", "x")
            client.etags["notes"] = '"notes-7"'  # as if loaded
            with pytest.raises(HostServerError):
                await client.save_notes("hello")
            with pytest.raises(HostServerError):
                await client.mark_notifications_read()

    with tiny_server(fail) as tiny:
        run(go(tiny.url))
        methods = [m for m, _ in tiny.hits]
    assert methods == ["GET"] * 3 + ["POST"] + ["PUT"] * 3 + ["POST"] * 3
    assert tiny.hits[0][1] == "/v1/record"
    assert "Idempotency-Key" not in tiny.headers[3]  # login: unkeyed, sent once
    puts, posts = tiny.headers[4:7], tiny.headers[7:10]
    # A keyed change's retries reuse its key (the host applies it once); each change has its own.
    assert all(
        h == {"Idempotency-Key": puts[0]["Idempotency-Key"], "If-Match": '"notes-7"'} for h in puts
    )
    assert all(h == posts[0] for h in posts) and "If-Match" not in posts[0]
    assert posts[0]["Idempotency-Key"] != puts[0]["Idempotency-Key"]
    uuid.UUID(posts[0]["Idempotency-Key"])


def test_a_retry_that_succeeds_is_invisible() -> None:
    calls = 0

    def flaky(h: BaseHTTPRequestHandler) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            send(h, 503, b"busy", "text/plain")
        else:
            send(
                h, 200, json.dumps({"text": "hi", "updated_at": None}).encode(), "application/json"
            )

    async def go(url: str) -> None:
        async with Client(url) as client:
            client.backoff = 0.01
            assert (await with_token(client).notes()).text == "hi"

    with tiny_server(flaky) as tiny:
        run(go(tiny.url))
    assert calls == 2


def test_a_retried_delete_that_finds_the_thing_gone_succeeded() -> None:
    """The first DELETE may have been done before its answer was lost: a 404 on the retry
    means the document is gone, which is what was asked."""
    calls = 0
    gone = json.dumps({"error": "not_found", "message": "No such document."}).encode()

    def lost_answer(h: BaseHTTPRequestHandler) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            send(h, 502, b"bad gateway", "text/plain")
        else:
            send(h, 404, gone, "application/json")

    async def go(url: str) -> None:
        async with Client(url) as client:
            client.backoff = 0.01
            assert await with_token(client).delete_document("doc-1") is None
            with pytest.raises(NotFound):  # a first answer of 404 is a real "not found"
                await client.delete_document("doc-2")

    with tiny_server(lost_answer) as tiny:
        run(go(tiny.url))
    assert [m for m, _ in tiny.hits] == ["DELETE"] * 3
    assert tiny.hits[0][1] == "/v1/record/documents/doc-1"


def test_html_or_a_wrong_shape_is_an_invalid_response() -> None:
    def html(h: BaseHTTPRequestHandler) -> None:
        if h.path.startswith("/v1/auth/verify"):
            body = {"access_token": "SECRET-ACCESS", "refresh_token": 42, "expires_in": "x"}
            send(h, 200, json.dumps(body).encode(), "application/json")
        elif h.path.startswith("/v1/record/notes"):
            send(h, 404, b"<html>proxy says no</html>", "text/html")
        else:
            send(h, 200, b"<html><body>Captive portal</body></html>", "text/html")

    async def go(url: str) -> None:
        async with Client(url) as client:
            with pytest.raises(InvalidResponse) as e:
                await with_token(client).record()
            assert e.value.code == "not_json" and e.value.status == 200
            assert type(e.value).__name__ == "NotJson"  # HTML: said as such, not "unreadable"
            with pytest.raises(InvalidResponse) as e:
                await client.verify("challenge", "123456")
            assert_no_secret(e.value, "SECRET-ACCESS")
            assert e.value.__cause__ is None and e.value.__suppress_context__
            assert client.access_token == "pretend-access-token"  # nothing half-stored
            with pytest.raises(InvalidResponse) as e:
                await client.notes()
            assert e.value.status == 404

    with tiny_server(html) as tiny:
        run(go(tiny.url))


def test_a_slow_host_times_out() -> None:
    release = threading.Event()

    def slow(h: BaseHTTPRequestHandler) -> None:
        release.wait(5)
        try:
            send(h, 200, b"{}", "application/json")
        except OSError:
            pass

    async def go(url: str) -> None:
        async with Client(url, timeout=0.3, retries=1) as client:
            client.backoff = 0.01
            started = time.monotonic()
            with pytest.raises(HostTimeout) as e:
                await with_token(client).record()
            assert e.value.code == "timeout"
            assert time.monotonic() - started < 2
            with pytest.raises(HostTimeout):
                await client.login("123456789012345", "x")

    with tiny_server(slow) as tiny:
        try:
            run(go(tiny.url))
        finally:
            release.set()
        methods = [m for m, _ in tiny.hits]
    assert methods == ["GET", "GET", "POST"]


def test_errors_share_one_base_and_say_nothing_secret() -> None:
    for cls in (
        HostUnreachable,
        HostTimeout,
        HostServerError,
        InvalidResponse,
        SessionExpired,
        StepUpRequired,
        Refused,
        NotFound,
        InvalidInput,
        Locked,
        InvalidCredentials,
        InvalidCode,
        ChallengeExpired,
        TooManyCodes,
    ):
        error = cls()
        assert isinstance(error, HostError) and error.code
        assert error.status is None and error.field is None and error.retry_after is None
    locked = Locked("wait", status=429, retry_after=61)
    assert repr(locked) == "Locked(code='locked', status=429, retry_after=61)"


def test_the_host_url_must_be_http() -> None:
    with pytest.raises(ValueError):
        Client("file:///etc/passwd")


def test_listed_document_etags_are_bounded(host: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing documents page after page keeps the ETags of the most recently listed ones only
    (a long list scrolled through does not grow the client); a change to a document whose ETag
    was forgotten reads it first and goes through."""
    from dmptui import client as client_module

    monkeypatch.setattr(client_module, "LISTED_ETAGS", 4)

    async def go() -> None:
        async with await logged_in(host) as c:
            first = await c.documents(limit=3)
            second = await c.documents(limit=3, cursor=first.next_cursor)
            kept = [k for k in c.etags if k.startswith("document:")]
            newest = [f"document:{d.id}" for d in [*first.items, *second.items]][-4:]
            assert kept == newest
            old = first.items[0]
            assert f"document:{old.id}" not in c.etags
            masked = await c.mask(old.id)  # read first, then If-Match: it goes through
            assert masked.id == old.id and c.etags[f"document:{old.id}"]
            await c.unmask(old.id)

    asyncio.run(go())


def test_the_host_address_never_carries_a_secret_into_requests() -> None:
    from dmptui.client import Client

    client = Client("https://patient:Tilleul-Brume-2026@dmp.example.org:8443/?token=t#frag")
    assert client.base_url == "https://dmp.example.org:8443/"
    for bad in ("ftp://dmp.example.org", "dmp.example.org", "https://"):
        with pytest.raises(ValueError):
            Client(bad)

"""Logging in without being locked out (docs/rules.md "Logging in"), on the real host over HTTP
(SQLite, and PostgreSQL with DMPTUI_TEST_DATABASE_URL): tries left from the third failure, a
pause that grows, known devices counted apart (a stranger who knows the INS cannot pause the
patient's own device), the step-up counted apart, ``end_lock``, and an erased record's login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from hostkit import LiveHost

from dmptui import i18n
from dmptui.client import Client, HostError
from dmptui.explain import explain
from dmptui.host import lockout, policy

UNKNOWN_INS = "175027512304256"
OWN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"  # the patient's app: a random id of 32 hex digits
STRANGER = "ffffffffeeeeeeeeddddddddcccccccc"


def login(host: LiveHost, ins: str | None = None, password: str | None = None, device: str = ""):
    headers = {"X-Device-Id": device} if device else {}
    return host.http.post(
        "/v1/auth/login",
        json={"ins": ins or host.ins, "password": password or host.password},
        headers=headers,
    )


def fail(host: LiveHost, ins: str | None = None, device: str = "") -> httpx.Response:
    return login(host, ins, "Pas-le-bon-mot-2026", device)


def shape(r: httpx.Response) -> tuple[Any, ...]:
    body = r.json()
    return (
        r.status_code,
        body["error"],
        body.get("tries_left"),
        body.get("locked_until"),
        r.headers.get("retry-after"),
    )


def test_tries_left_from_the_third_failure_the_same_for_any_ins(host: LiveHost) -> None:
    seen: dict[str, list[tuple[Any, ...]]] = {}
    for ins in (host.ins, UNKNOWN_INS):
        seen[ins] = [shape(fail(host, ins)) for _ in range(policy.FREE_TRIES)]
        seen[ins].append(shape(login(host, ins)))  # paused: even the right password
    known, unknown = seen[host.ins], seen[UNKNOWN_INS]
    assert [s[:3] for s in known] == [
        (401, "invalid_credentials", None),
        (401, "invalid_credentials", None),
        (401, "invalid_credentials", 2),
        (401, "invalid_credentials", 1),
        (401, "invalid_credentials", 0),  # the fifth: the pause starts
        (429, "locked", None),
    ]
    assert known[4][4] == "60" and known[4][3] is not None
    assert known[5][3] == known[4][3]  # the attempt during the pause did not lengthen it
    # An INS without a record gets exactly the same answers: nothing tells them apart.
    assert known == unknown
    # The message says it too, and the client explains it in both languages.
    r = fail(host, "175027512304256")
    assert "paused until" in r.json()["message"]


def test_the_pause_grows_with_each_failure_after_it_up_to_an_hour(host: LiveHost) -> None:
    for _ in range(policy.FREE_TRIES):
        last = fail(host)
    pauses = [int(last.headers["retry-after"])]
    for _ in range(8):
        host.clock.advance(seconds=pauses[-1])
        # During a pause nothing is checked nor counted; at its end one try, then a longer one.
        r = fail(host)
        assert r.status_code == 401 and r.json()["tries_left"] == 0, r.text
        pauses.append(int(r.headers["retry-after"]))
        locked = login(host)
        assert (
            locked.status_code == 429 and locked.json()["locked_until"] == r.json()["locked_until"]
        )
    assert pauses == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    # A quiet day: the failures are forgotten.
    host.clock.advance(seconds=policy.FORGET_AFTER.total_seconds() + 3600)
    assert shape(fail(host))[:3] == (401, "invalid_credentials", None)


def test_a_stranger_cannot_pause_the_patients_known_device(host: LiveHost) -> None:
    host.login(**{"X-Device-Id": OWN})  # the patient's device has logged in before
    for device in ("", STRANGER, "short-id"):
        for _ in range(policy.FREE_TRIES + 2):
            fail(host, device=device)
            host.clock.advance(seconds=1)
    # Every unknown device is paused, the stranger's included; a short id is no device id.
    for device in ("", STRANGER, "short-id", "a-new-phone-of-the-patient-0001"):
        assert login(host, device=device).status_code == 429, device
    # The patient's own device is not: it logs in, password and code.
    client = host.login(**{"X-Device-Id": OWN})
    assert client.get("/v1/record").status_code == 200
    # The stranger's failures are still counted: the stranger stays paused.
    assert login(host, device=STRANGER).status_code == 429


def test_the_known_devices_own_failures_pause_it_and_only_it(host: LiveHost) -> None:
    host.login(**{"X-Device-Id": OWN})
    answers = [shape(fail(host, device=OWN))[:3] for _ in range(policy.FREE_TRIES)]
    assert [a[2] for a in answers] == [None, None, 2, 1, 0]
    r = login(host, device=OWN)
    assert r.status_code == 429 and int(r.headers["retry-after"]) <= 60
    # The devices that never logged in have their own count, untouched: a new one logs in.
    assert login(host, device=STRANGER).status_code == 200
    # Wrong codes from the known device count on its counter too.
    host.clock.advance(seconds=61)
    challenge = login(host, device=OWN).json()["challenge"]
    r = host.http.post(
        "/v1/auth/verify",
        json={"challenge": challenge, "code": "000000"},
        headers={"X-Device-Id": OWN},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"
    assert r.json()["tries_left"] == 0 and r.headers["retry-after"] == "120"


def test_step_up_is_not_refused_by_a_login_pause_and_is_throttled_apart(host: LiveHost) -> None:
    client = host.login(**{"X-Device-Id": OWN})
    for device in ("", OWN):  # every login counter paused, the known device's too
        for _ in range(policy.FREE_TRIES):
            fail(host, device=device)
    assert login(host, device=OWN).status_code == 429
    host.step_up(client)  # a login pause does not refuse the patient's fresh code
    # Wrong codes at the step-up count apart, and say the tries left.
    answers = []
    for _ in range(policy.FREE_TRIES):
        r = client.post("/v1/auth/step-up", json={"code": "000000"})
        answers.append((r.status_code, r.json()["error"], r.json().get("tries_left")))
    assert answers == [
        (401, "invalid_code", None),
        (401, "invalid_code", None),
        (401, "invalid_code", 2),
        (401, "invalid_code", 1),
        (401, "invalid_code", 0),
    ]
    r = client.post("/v1/auth/step-up", json={"code": host.code()})
    assert r.status_code == 429 and r.json()["reason"] == "step_up"
    # The step-up pause does not pause logging in: once the login pauses end, it works.
    host.clock.advance(seconds=61)
    assert client.post("/v1/auth/step-up", json={"code": host.code()}).status_code == 200
    assert host.login(**{"X-Device-Id": STRANGER}).get("/v1/record").status_code == 200


def test_end_lock_ends_every_pause_and_locked_until_says_the_last(host: LiveHost) -> None:
    client = host.login(**{"X-Device-Id": OWN})
    for _ in range(policy.FREE_TRIES + 1):
        fail(host)  # unknown devices: a 1-minute pause, then the 6th refused during it
    host.clock.advance(seconds=61)
    fail(host)  # 2 minutes
    for _ in range(policy.FREE_TRIES):
        fail(host, device=OWN)  # 1 minute
        client.post("/v1/auth/step-up", json={"code": "000000"})
    state = host.app.state.host
    now = host.clock()
    with state.tx() as s:
        until = lockout.locked_until(s, host.ins, now)
    assert until is not None and 110 <= (until - now).total_seconds() <= 120
    with state.tx() as s:
        assert lockout.end_lock(s, host.ins, now) is True
    with state.tx() as s:
        assert lockout.locked_until(s, host.ins, now) is None
        assert lockout.end_lock(s, host.ins, now) is False
    assert login(host).status_code == 200
    assert login(host, device=OWN).status_code == 200
    host.step_up(client)
    # The count starts afresh: the next failure is the first again.
    assert shape(fail(host))[:3] == (401, "invalid_credentials", None)


def test_an_erased_records_login_says_so_only_with_the_right_password(host: LiveHost) -> None:
    client = host.login()
    host.step_up(client)
    assert client.post("/v1/record/erase").status_code == 200
    r = login(host)
    assert r.status_code == 410 and r.json()["error"] == "account_erased", r.text
    assert "erased" in r.json()["message"]
    # A wrong password: the usual answer, the same as for an INS that never had a record.
    wrong = fail(host)
    unknown = fail(host, UNKNOWN_INS)
    assert wrong.status_code == 401 and wrong.json() == unknown.json()
    # What the row keeps: the INS, the status and the password's hash; no secret, no contact.
    (row,) = host.sql(
        "SELECT status, display_name, email, phone, totp_secret_sealed, notes FROM records"
    )
    assert row == ("erased", "", None, None, None, None)
    # Both front ends say it through the core's explain().
    i18n.set_language("en")
    try:
        error = _client_error(host, host.password)
        assert error.code == "account_erased"
        assert explain(error).startswith("This record was erased, and its account with it")
        i18n.set_language("fr")
        assert explain(error).startswith("Ce dossier a été effacé, et son compte avec lui")
    finally:
        i18n.set_language("en")


def _client_error(host: LiveHost, password: str, ins: str | None = None) -> HostError:
    import asyncio

    async def go() -> HostError:
        async with Client(host.url) as c:
            try:
                await c.login(ins or host.ins, password)
            except HostError as e:
                return e
        raise AssertionError("logged in")

    return asyncio.run(go())


def test_the_words_of_tries_left_and_pauses_in_both_languages(host: LiveHost) -> None:
    i18n.set_language("en")
    try:
        errors = [_client_error(host, "Pas-le-bon-mot-2026") for _ in range(policy.FREE_TRIES)]
        assert [e.tries_left for e in errors] == [None, None, 2, 1, 0]
        assert explain(errors[0]) == "The INS or the password is wrong. Check both and try again."
        assert explain(errors[2]).endswith(
            "wrong. Check both and try again. 2 tries left before a pause."
        )
        assert explain(errors[3]).endswith(" 1 try left before a pause.")
        assert "That was the last try: logging in is paused until " in explain(errors[4])
        assert "(1 min)" in explain(errors[4])
        locked = _client_error(host, host.password)
        assert locked.code == "locked"
        assert explain(locked).startswith("Too many failed attempts: logging in from this device ")
        i18n.set_language("fr")
        assert explain(errors[2]).endswith("Encore 2 essais avant une pause.")
        assert explain(errors[3]).endswith("Encore 1 essai avant une pause.")
        assert "la connexion est suspendue jusqu'à" in explain(errors[4])
        assert "suspendue jusqu'à" in explain(locked) and "(1 min)" in explain(locked)
    finally:
        i18n.set_language("en")


def test_the_rule_is_a_pure_function() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    t = policy.Tries()
    seen = []
    for _ in range(9):
        v = policy.after_failure(t, now)
        seen.append((v.tries_left, v.paused_until and (v.paused_until - now)))
        t = v.tries
        now = v.paused_until or now + timedelta(seconds=1)
    minute = timedelta(minutes=1)
    assert seen == [
        (None, None),
        (None, None),
        (2, None),
        (1, None),
        (0, minute),
        (0, 2 * minute),
        (0, 4 * minute),
        (0, 8 * minute),
        (0, 16 * minute),
    ]
    assert policy.pause_length(100) == policy.LONGEST_PAUSE
    # A quiet day after the end of the last pause forgets everything.
    assert policy.current_tries(t, t.paused_until + policy.FORGET_AFTER) == policy.Tries()
    assert policy.current_tries(t, t.paused_until + timedelta(hours=23)) == t
    assert policy.paused_until(t, t.paused_until - minute) == t.paused_until
    assert policy.paused_until(t, t.paused_until) is None
    # Who is counted apart.
    assert policy.throttle_scope(False, None, False) == policy.UNKNOWN_DEVICES
    assert policy.throttle_scope(False, "abc", False) == policy.UNKNOWN_DEVICES
    assert policy.throttle_scope(False, "abc", True) == policy.KNOWN_DEVICE + "abc"
    assert policy.throttle_scope(True, "abc", True) == policy.STEP_UP


def test_screen_reader_login_says_tries_left_the_pause_and_an_erased_account(
    host: LiveHost,
) -> None:
    import asyncio

    from test_reader_nav import PASSWORD, drive, flat

    async def script(run: Any) -> None:
        for _ in range(2):
            await run.answer("", "Press Enter to keep")
            await run.answer("Pas-le-bon-mot-2026", PASSWORD)
        for words in (
            "2 tries left before a pause.",
            "1 try left before a pause.",
            "That was the last try: logging in is paused until",
            "Too many failed attempts: logging in from this device is paused until",
        ):
            await run.answer("", "Press Enter to keep")
            await run.answer("Pas-le-bon-mot-2026", PASSWORD)
            await run.until("Press Enter to keep")
            assert words in flat(run.text[-1500:]), run.text[-1500:]
            run.mark -= len("Press Enter to keep")
        # The record erased elsewhere: the right password says so, and what to do.
        host.clock.advance(seconds=policy.LONGEST_PAUSE.total_seconds())
        client = host.login()
        host.step_up(client)
        assert client.post("/v1/record/erase").status_code == 200
        await run.answer("", "Press Enter to keep")
        await run.answer(host.password, PASSWORD)
        await run.until("Press Enter to keep")
        assert "This record was erased, and its account with it" in flat(run.text[-1500:])
        run.type("q")  # the INS is asked again: leave
        await run.until("Goodbye.")
        assert await asyncio.wait_for(run.task, 10) == 0

    drive(host, script)


def test_tui_login_says_an_erased_account_in_french(host: LiveHost) -> None:
    import asyncio

    from tuikit import make_app, status, wait_for

    client = host.login()
    host.step_up(client)
    assert client.post("/v1/record/erase").status_code == 200

    async def go() -> None:
        app = make_app(host, "fr")
        async with app.run_test(size=(120, 40)) as pilot:
            pw = app.screen.query_one("#password")
            pw.focus()
            await pilot.press(*host.password, "enter")
            await wait_for(pilot, lambda: "effacé" in status(app))
            assert "Ce dossier a été effacé, et son compte avec lui" in status(app)
            assert pw.value == "" and app.screen.query_one("#credentials").display

    try:
        asyncio.run(go())
    finally:
        i18n.set_language("en")


def test_migration_0008_keeps_running_locks_as_the_shared_count(tmp_path: Path) -> None:
    """A throttle row written before 0008 (one per INS) becomes its INS's count for the devices
    that never logged in, running lock and failures kept; and back on downgrade."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text
    from test_crypto import _upgrade

    import dmptui.host.db as db

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    _upgrade(url, "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO login_throttle (ins, failures, window_start, locked_until) "
                "VALUES ('175027512304256', 3, '2026-12-07 12:00:00', '2026-12-07 12:15:00')"
            )
        )
    _upgrade(url, "0008")
    query = "SELECT ins, scope, failures, locked_until IS NOT NULL FROM login_throttle"
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(query))]
    assert rows == [("175027512304256", policy.UNKNOWN_DEVICES, 3, 1)]
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, "0007")
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text("SELECT ins, failures FROM login_throttle"))]
    assert rows == [("175027512304256", 3)]
    engine.dispose()

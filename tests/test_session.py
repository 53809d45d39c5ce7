"""dmptui.session: the refresh-token store over real keyring backends (an in-memory one, keyring's
own ``fail`` and ``null``, and one that hangs), never a silent plain file; and the idle lock."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest

from dmptui.schema import Tokens
from dmptui.session import IdleLock, StoreResult, TokenStore, keep_in_sync

TOKEN = "refresh-token-0123456789abcdef"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A complete keyring backend that keeps passwords in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("not found") from None


class HangingKeyring(MemoryKeyring):
    """A Secret Service waiting for an unlock prompt nobody will see."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(10)
        super().set_password(service, username, password)

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(10)
        return super().get_password(service, username)


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("locked collection")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()]


def test_a_working_keyring_stores_loads_and_forgets(home: Path) -> None:
    backend = MemoryKeyring()
    store = TokenStore(backend=backend)
    assert store.load("123") is None
    assert store.save("123", TOKEN) == StoreResult(True, None)
    assert backend.passwords == {("dmptui", "123"): TOKEN}
    assert store.load("123") == TOKEN
    assert store.save("123", TOKEN + "2").stored
    assert store.load("123") == TOKEN + "2"
    store.delete("123")
    assert store.load("123") is None
    store.delete("123")  # forgetting twice is fine
    assert TokenStore("other", backend=backend).load("123") is None
    assert "MemoryKeyring" in store.describe_backend()
    assert "priority 1" in store.describe_backend()
    assert files_under(home) == []


def test_no_keyring_is_reported(home: Path) -> None:
    store = TokenStore(backend=keyring.backends.fail.Keyring())
    assert store.save("123", TOKEN) == StoreResult(False, "no_keyring")
    assert store.load("123") is None and store.last_reason == "no_keyring"
    store.delete("123")
    assert "fail.Keyring" in store.describe_backend()
    assert files_under(home) == []


def test_a_keyring_that_discards_is_detected(home: Path) -> None:
    store = TokenStore(backend=keyring.backends.null.Keyring())
    assert store.save("123", TOKEN) == StoreResult(False, "keyring_discards")
    assert store.load("123") is None
    store.delete("123")
    assert files_under(home) == []


def test_a_failing_keyring_is_reported(home: Path) -> None:
    store = TokenStore(backend=BrokenKeyring())
    assert store.save("123", TOKEN) == StoreResult(False, "keyring_error")
    assert files_under(home) == []


def test_a_hanging_keyring_is_given_up(home: Path) -> None:
    backend = HangingKeyring()
    store = TokenStore(backend=backend, timeout=1)
    try:
        started = time.monotonic()
        assert store.save("123", TOKEN) == StoreResult(False, "keyring_timeout")
        assert time.monotonic() - started < 3
        # While the backend is still stuck, nothing more piles up behind it.
        started = time.monotonic()
        assert store.load("123") is None and store.last_reason == "keyring_timeout"
        store.delete("123")
        assert time.monotonic() - started < 1
        assert files_under(home) == []
    finally:
        backend.release.set()


def test_the_default_timeout_is_five_seconds() -> None:
    assert TokenStore(backend=MemoryKeyring()).timeout == 5


def test_a_plain_file_only_when_asked_and_private(home: Path) -> None:
    path = home / "state" / "dmptui" / "tokens.json"
    store = TokenStore(plaintext_path=path, backend=keyring.backends.fail.Keyring())
    result = store.save("123", TOKEN)
    assert result.stored and result.reason == "plaintext"
    assert files_under(home) == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load("123") == TOKEN
    assert store.save("456", "another").stored
    assert store.load("123") == TOKEN and store.load("456") == "another"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.delete("123")
    assert store.load("123") is None and store.load("456") == "another"
    assert "plaintext file" in store.describe_backend()
    # A file others can read is refused, not used.
    os.chmod(path, 0o644)
    assert store.load("456") is None and store.last_reason == "plaintext_insecure"
    assert not store.save("456", "x").stored


def test_keep_in_sync_follows_rotation_and_forgets_at_the_end() -> None:
    backend = MemoryKeyring()
    store = TokenStore(backend=backend)
    client = SimpleNamespace(on_tokens=None, on_session_end=None)
    keep_in_sync(client, store, "123")
    for i in range(3):
        client.on_tokens(Tokens(access_token=f"a{i}", refresh_token=f"r{i}", expires_in=900))
    deadline = time.monotonic() + 5
    while store.load("123") != "r2" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.load("123") == "r2"
    client.on_session_end()
    while store.load("123") is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.load("123") is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_lock() -> None:
    clock = FakeClock()
    lock = IdleLock(timeout=900, clock=clock)
    assert not lock.expired() and lock.remaining() == 900
    clock.now += 600
    assert not lock.expired() and lock.remaining() == 300
    lock.touch()
    assert lock.remaining() == 900
    clock.now += 899.5
    assert not lock.expired()
    clock.now += 0.5
    assert lock.expired() and lock.remaining() == 0
    clock.now += 100
    assert lock.remaining() == 0
    lock.touch()
    assert not lock.expired()
    lock.expire()
    assert lock.expired()
    assert IdleLock().timeout == 900


# --- gaps filled: the default bound, and the app itself with a hanging keyring -----------------


def test_a_hanging_keyring_is_given_up_within_five_seconds_by_default(home: Path) -> None:
    """No timeout passed: the default gives up within 5 s (a bound, with room for a slow
    machine's thread start; not a timing target)."""
    backend = HangingKeyring()
    store = TokenStore(backend=backend)
    try:
        started = time.monotonic()
        assert store.save("123", TOKEN) == StoreResult(False, "keyring_timeout")
        assert time.monotonic() - started < 5.5
        assert backend.passwords == {}  # nothing written meanwhile
        assert files_under(home) == []  # and no plain file instead
    finally:
        backend.release.set()


def test_the_app_stays_usable_and_writes_no_file_when_the_keyring_hangs(
    host: Any, home: Path
) -> None:
    """The TUI with "remember me" on a keyring that never answers: the login screen comes, the
    login works, the screens answer while the keyring is stuck, the patient is told within the
    bound that they will not be remembered, and no file anywhere under HOME holds a token."""
    import asyncio

    import secretscan
    from tuikit import goto, login, make_app, wait_for

    backend = HangingKeyring()
    store = TokenStore(backend=backend)
    told_after: list[float] = []

    async def go() -> None:
        app = make_app(host, "en", token_store=store)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen", 8)
            app.screen.query_one("#remember").value = True
            await login(pilot, host)
            started = time.monotonic()
            await goto(pilot, "documents")  # answers while the keyring thread is stuck
            await wait_for(
                pilot, lambda: any("no usable keyring" in m.text for m in app.state.messages), 10
            )
            told_after.append(time.monotonic() - started)
            assert app.is_running

    try:
        asyncio.run(go())
    finally:
        backend.release.set()
    assert told_after and told_after[0] < 5.5 + 1.0  # the 5 s bound, and the message's way
    scan = secretscan._scan
    issued = scan.secrets.tokens if scan is not None else set()
    assert issued, "no token was issued: the check below would be vacuous"
    for path in files_under(home):
        if path.suffix in (".sqlite3", ".sqlite3-wal", ".sqlite3-shm"):
            continue  # the host's own database (tokens there are digests)
        data = path.read_bytes()
        assert not any(t.encode() in data for t in issued), f"a token in plain text: {path}"

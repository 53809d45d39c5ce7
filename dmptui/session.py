"""What outlives one request: the refresh token in the OS keyring ("remember me"), and the idle
lock of the app.

The store never downgrades silently. A keyring that refuses (no backend), discards what it is
given (keyring's ``null`` backend) or hangs (a locked Secret Service waiting for a prompt that
never comes) is *reported* — ``StoreResult(stored=False, reason=...)`` — and nothing is written
anywhere else. A plain file is used only when the caller passes ``plaintext_path``, which the app
does only on an explicit user flag; even then the file is created with mode 0600.

Every keyring call runs in a daemon thread and is given up after ``timeout`` seconds, so a hung
backend cannot freeze the app (the thread is left behind; while it is still stuck, further calls
give up at once).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # keyring is imported when first used, off the start-up path
    import keyring.backend

T = TypeVar("T")

LAST_ACCOUNT = "last-account"  # keyring entry: the INS last remembered on this device

NO_KEYRING = "no_keyring"
KEYRING_DISCARDS = "keyring_discards"
KEYRING_TIMEOUT = "keyring_timeout"
KEYRING_ERROR = "keyring_error"
PLAINTEXT = "plaintext"
PLAINTEXT_ERROR = "plaintext_error"
PLAINTEXT_INSECURE = "plaintext_insecure"


@dataclass(frozen=True)
class StoreResult:
    """``stored`` is True only when the token was read back. ``reason`` says why not
    ("no_keyring", "keyring_discards", "keyring_timeout", "keyring_error", "plaintext_error");
    on success it is None, or "plaintext" when it went to the explicit plain file."""

    stored: bool
    reason: str | None = None


class _Outcome:
    __slots__ = ("error", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None


class TokenStore:
    """The refresh token, per account (the INS), in the OS keyring under ``service``."""

    def __init__(
        self,
        service: str = "dmptui",
        *,
        backend: keyring.backend.KeyringBackend | None = None,
        timeout: float = 5.0,
        plaintext_path: Path | None = None,
    ) -> None:
        self.service = service
        self.timeout = timeout
        self.plaintext_path = Path(plaintext_path) if plaintext_path is not None else None
        self._backend = backend
        self._stuck: threading.Thread | None = None
        self.last_reason: str | None = None

    def __repr__(self) -> str:
        return f"TokenStore(service={self.service!r})"

    # --- running keyring calls safely ----------------------------------------------------

    def _keyring(self) -> keyring.backend.KeyringBackend:
        import keyring

        if self._backend is None:
            self._backend = keyring.get_keyring()
        return self._backend

    def _run(
        self, work: Callable[[keyring.backend.KeyringBackend], T]
    ) -> tuple[T | None, str | None]:
        """``work(backend)`` in a daemon thread: (value, None) or (None, reason)."""
        if self._stuck is not None and self._stuck.is_alive():
            return None, KEYRING_TIMEOUT
        outcome = _Outcome()

        def target() -> None:
            try:
                outcome.value = work(self._keyring())
            except BaseException as e:
                outcome.error = e

        thread = threading.Thread(target=target, name="dmptui-keyring", daemon=True)
        thread.start()
        thread.join(self.timeout)
        if thread.is_alive():
            self._stuck = thread
            return None, KEYRING_TIMEOUT
        if outcome.error is not None:
            import keyring.errors

            if isinstance(outcome.error, keyring.errors.NoKeyringError | keyring.errors.InitError):
                return None, NO_KEYRING
            return None, KEYRING_ERROR
        return outcome.value, None

    # --- the store -----------------------------------------------------------------------

    def save(self, account: str, refresh_token: str) -> StoreResult:
        """Store, then read back: only a token that comes back counts as stored."""
        if self.plaintext_path is not None:
            result = self._file_save(account, refresh_token)
        else:

            def work(kr: keyring.backend.KeyringBackend) -> bool:
                kr.set_password(self.service, account, refresh_token)
                return kr.get_password(self.service, account) == refresh_token

            same, reason = self._run(work)
            if reason is not None:
                result = StoreResult(False, reason)
            elif not same:
                result = StoreResult(False, KEYRING_DISCARDS)
            else:
                result = StoreResult(True, None)
        self.last_reason = result.reason
        return result

    def load(self, account: str) -> str | None:
        """The stored refresh token, or None (nothing stored, or the store failed: the reason
        is in ``last_reason``)."""
        if self.plaintext_path is not None:
            value, reason = self._file_load(account)
        else:
            value, reason = self._run(lambda kr: kr.get_password(self.service, account))
        self.last_reason = reason
        return value if isinstance(value, str) and value else None

    def delete(self, account: str) -> None:
        """Forget the account's token. Never raises."""
        if self.plaintext_path is not None:
            try:
                self._file_delete(account)
            except Exception:  # noqa: S110 - forgetting is best effort
                pass
            return

        def work(kr: keyring.backend.KeyringBackend) -> None:
            try:
                kr.delete_password(self.service, account)
            except keyring.errors.PasswordDeleteError:
                pass  # nothing stored: forgotten already

        _, self.last_reason = self._run(work)

    def describe_backend(self) -> str:
        """For diagnostics: where tokens go (backend class and priority)."""
        if self.plaintext_path is not None:
            return f"plaintext file {self.plaintext_path} (mode 0600, explicit choice)"

        def work(kr: keyring.backend.KeyringBackend) -> str:
            cls = type(kr)
            try:
                priority: Any = kr.priority
            except Exception as e:
                priority = f"unavailable: {type(e).__name__}"
            return f"{cls.__module__}.{cls.__name__} (priority {priority})"

        text, reason = self._run(work)
        return text if text is not None else f"keyring unavailable ({reason})"

    # --- the explicit plain file ---------------------------------------------------------

    def _file_read(self) -> dict[str, str]:
        path = self.plaintext_path
        assert path is not None
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, "r", encoding="utf-8") as f:
            if os.name == "posix" and os.fstat(f.fileno()).st_mode & 0o077:
                raise PermissionError(PLAINTEXT_INSECURE)
            data = json.load(f)
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def _file_write(self, data: dict[str, str]) -> None:
        path = self.plaintext_path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                if hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), 0o600)  # whatever the umask
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _file_save(self, account: str, token: str) -> StoreResult:
        try:
            data = self._file_read()
            data[account] = token
            self._file_write(data)
            if self._file_read().get(account) != token:
                return StoreResult(False, PLAINTEXT_ERROR)
        except PermissionError as e:
            insecure = str(e) == PLAINTEXT_INSECURE
            return StoreResult(False, PLAINTEXT_INSECURE if insecure else PLAINTEXT_ERROR)
        except (OSError, ValueError):
            return StoreResult(False, PLAINTEXT_ERROR)
        return StoreResult(True, PLAINTEXT)

    def _file_load(self, account: str) -> tuple[str | None, str | None]:
        try:
            return self._file_read().get(account), None
        except PermissionError as e:
            return None, PLAINTEXT_INSECURE if str(e) == PLAINTEXT_INSECURE else PLAINTEXT_ERROR
        except (OSError, ValueError):
            return None, PLAINTEXT_ERROR

    def _file_delete(self, account: str) -> None:
        data = self._file_read()
        if account in data:
            del data[account]
            self._file_write(data)


def keep_in_sync(client: Any, store: TokenStore, account: str) -> None:
    """Keep the stored refresh token current: the host rotates it at every refresh, so a token
    saved once at login would be dead after the first refresh. Saves run one at a time, in
    order, off the caller's thread (a slow keyring never blocks the event loop); the session's
    end forgets the token."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dmptui-token-sync")
    client.on_tokens = lambda tokens: pool.submit(store.save, account, tokens.refresh_token)
    client.on_session_end = lambda: pool.submit(store.delete, account)


class IdleLock:
    """The app locks itself after ``timeout`` seconds without a key press."""

    def __init__(self, timeout: float = 900, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self.clock = clock
        self._last = clock()

    def touch(self) -> None:
        self._last = self.clock()

    def remaining(self) -> float:
        return max(0.0, self.timeout - (self.clock() - self._last))

    def expired(self) -> bool:
        return self.clock() - self._last >= self.timeout

    def expire(self) -> None:
        """Lock now (e.g. on a "lock" key)."""
        self._last = self.clock() - self.timeout

"""The embedded demo host of ``dmptui demo``: the real host on loopback, on a fresh SQLite file
with the demo record, and its file outbox for the demo phone.

It runs in a process of its own, started in the background once the app has painted its first
screen (``DemoHost.go``: the TUI says "go" once its login screen is painted, reader mode at
once): the host imports, migrates a fresh database and seeds the demo record while the patient
reads the form and types, and the login paints as fast as with ``--host URL`` even on a busy
machine (the demo account is known in advance, ``dmptui.demo``). The listening socket is made
at once and handed to that process, so the address is known from the start and a request made
early waits in the socket's queue; the front ends still wait for ``ready`` and say so
(``DemoLink``).

The host process ends when its standard input closes: when the app ends, however it ends.

Run as ``python -m dmptui.entry.demo DIRECTORY FD own|kept``, it is that host process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from dmptui.demo import DEMO_INS, DEMO_PASSWORD

REMOVE = "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)"
START_TIMEOUT = 180.0  # seconds: seeding takes a few on a busy machine
OUTBOX_FILE = Path("outbox") / "outbox.jsonl"  # FileTransport's file, under the demo directory


class DemoFailed(Exception):
    """The demo host could not start; the message says why, in words."""


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """Every message the demo host sent, oldest first, opened with the demo's master key (the
    file outbox is sealed at rest: ``dmptui.host.outbox_file``). The one place that reads the
    demo outbox (``DemoHost.messages``): both front ends' demo phones get it from there. Before
    the host has made its key, there is no message, nor before it has written its first one
    (then the host's crypto is not even imported: the demo phone is asked for at the first paint).
    """
    if not path.exists():
        return []
    from dmptui.host import crypto, outbox_file

    directory = path.parent.parent  # <demo directory>/outbox/outbox.jsonl
    try:
        keyring = crypto.host_keyring(directory)
    except (crypto.MasterKeyError, OSError):
        return []
    return outbox_file.read_messages(path, keyring)


class DemoHost:
    """The demo host process, from the app's side (``dmptui.demo.DemoLink``): ``go`` starts it
    (in a thread, returning at once), ``ready``/``wait`` say when it answers (``wait`` says "go"
    first). A context manager: it stops the host."""

    def __init__(self, directory: Path | None = None) -> None:
        import tempfile

        self._own_directory = directory is None
        # Made when the host process starts (``_start``), not before: an app ended before its
        # first paint leaves nothing behind.
        self.directory = directory or Path(tempfile.gettempdir()) / (
            f"dmptui-demo-{os.urandom(6).hex()}"
        )
        self.ins, self.password = DEMO_INS, DEMO_PASSWORD
        self.outbox = self.directory / OUTBOX_FILE
        self.log = self.directory / "host.log"
        self.creds: dict[str, Any] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._problem: str | None = None
        self._ready = threading.Event()
        self._over = threading.Event()
        self._lock = threading.Lock()
        self._went = False
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then (else ~40 ms per answer).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def _start(self) -> None:
        """Start the host process (in a thread of its own), then wait for its "ready" line."""
        import json

        fd = self._sock.fileno()
        mine = "own" if self._own_directory else "kept"
        try:
            # The host process makes the directory (and its log) itself, first thing: an app
            # killed at any moment leaves either no directory or a process that removes it.
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", "dmptui.entry.demo", str(self.directory), str(fd), mine],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # until the host process points it at its log
                pass_fds=(fd,),
                start_new_session=True,  # Ctrl+C in the terminal is the app's, not the host's
            )
        except OSError as error:
            self._problem = f"{type(error).__name__}: {error}"
            self._over.set()
            return
        finally:
            self._sock.close()  # the host process holds its own copy
        with self._lock:
            self.proc = proc
        assert proc.stdout is not None
        line = proc.stdout.readline()
        try:
            self.creds = json.loads(line)["creds"] if line else None
        except (ValueError, KeyError, TypeError):
            self.creds = None
        if self.creds is not None:
            self._ready.set()
        else:
            code = proc.wait()
            self._problem = f"exit code {code}; its log: {self.log}"
        self._over.set()

    # --- DemoLink ------------------------------------------------------------------------------

    def go(self) -> None:
        with self._lock:
            if self._went:
                return
            self._went = True
        threading.Thread(target=self._start, name="dmptui-demo-host", daemon=True).start()

    def ready(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout: float = START_TIMEOUT) -> bool:
        self.go()
        self._over.wait(timeout)
        if not self._over.is_set():
            self._problem = self._problem or f"not ready after {timeout:.0f} s; its log: {self.log}"
        return self._ready.is_set()

    def problem(self) -> str | None:
        return self._problem

    def messages(self) -> list[dict[str, Any]]:
        return read_outbox(self.outbox)

    # --- stopping ------------------------------------------------------------------------------

    def stop(self) -> None:
        with self._lock:
            self._went = True  # no host process from now on
            proc = self.proc
        if proc is None:
            self._sock.close()  # never started (or starting: it closes the socket itself)
        else:
            if proc.stdin is not None and not proc.stdin.closed:
                try:
                    proc.stdin.close()  # the host process ends when its stdin closes
                except OSError:
                    pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._own_directory:
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> DemoHost:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# --- the host process ------------------------------------------------------------------------


def serve(directory: Path, fd: int, own: bool) -> int:
    """Migrate and seed a fresh SQLite file in ``directory``, then serve the host on the
    listening socket ``fd``; one JSON line on stdout once it answers. Stop when stdin closes (at
    once while still preparing), and remove ``directory`` then when it is ``own``: made for this
    host alone, so nothing is left behind even when the app was killed."""
    import json
    import shutil
    import time

    lock = threading.Lock()
    running: list[Any] = []  # the uvicorn server, once there is one

    def forget() -> None:
        if own:
            shutil.rmtree(directory, ignore_errors=True)

    def watch_stdin() -> None:
        try:
            sys.stdin.read()  # until the app closes it, or ends
        except OSError:
            pass
        with lock:
            if not running:  # still preparing the record: nothing worth finishing
                if own:  # this process becomes a remover of the directory, its threads gone
                    os.execv(sys.executable, [sys.executable, "-c", REMOVE, str(directory)])  # noqa: S606
                os._exit(0)
            running[0].should_exit = True

    threading.Thread(target=watch_stdin, daemon=True).start()

    import uvicorn

    from dmptui.host import crypto
    from dmptui.host.app import create_app
    from dmptui.host.context import Host
    from dmptui.host.db import migrate
    from dmptui.host.outbox import FileTransport, Router
    from dmptui.host.seed import seed_demo

    sock = socket.socket(fileno=fd)
    url = f"sqlite:///{directory / 'demo.sqlite3'}"
    migrate(url)
    crypto.ensure_master_key(directory)
    host = Host(url, directory)
    creds = seed_demo(host)
    host.engine.dispose()
    files = FileTransport(directory / OUTBOX_FILE.parent)
    app = create_app(url, directory, maintenance_every=0.5, transport=Router(files, files))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    with lock:
        running.append(server)

    def tell() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            try:
                sys.stdout.write(json.dumps({"ready": True, "creds": creds}) + "\n")
                sys.stdout.flush()
            except OSError:  # the app is gone already
                pass

    threading.Thread(target=tell, daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        forget()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[3] not in ("own", "kept"):
        print("usage: python -m dmptui.entry.demo DIRECTORY FD own|kept", file=sys.stderr)
        sys.exit(2)
    os.umask(0o077)
    where, own_directory = Path(sys.argv[1]), sys.argv[3] == "own"
    # A directory of its own is new (mode 0700; refused if the name exists already).
    where.mkdir(mode=0o700, parents=not own_directory, exist_ok=not own_directory)
    where.chmod(0o700)
    log_fd = os.open(where / "host.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log_fd, 2)  # this process's errors go to the demo's log
    os.close(log_fd)
    sys.exit(serve(where, int(sys.argv[2]), own_directory))

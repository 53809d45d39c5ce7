"""The embedded demo host of ``dmptui demo``: the real host on loopback, on a fresh SQLite file
with the demo record, and its file outbox for the demo phone.

It runs in a process of its own, started before the app draws anything: the app paints its
login screen at once (the demo account is known in advance, ``dmptui.demo``) while the host
migrates its database and seeds the demo record on the other core. The listening socket is made
here and handed to that process, so the address is known at once and a request made early waits
in the socket's queue; the front ends still wait for ``ready`` and say so (``DemoLink``).

The host process ends when its standard input closes: when the app ends, however it ends.

Run as ``python -m dmptui.entry.demo DIRECTORY FD``, it is that host process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from dmptui.demo import DEMO_INS, DEMO_PASSWORD

START_TIMEOUT = 180.0  # seconds: seeding takes a few on a busy machine
OUTBOX_FILE = Path("outbox") / "outbox.jsonl"  # FileTransport's file, under the demo directory


class DemoFailed(Exception):
    """The demo host could not start; the message says why, in words."""


def read_outbox(path: Path) -> list[dict[str, Any]]:
    """Every message the demo host sent, oldest first. The one place that reads the demo outbox
    (``DemoHost.messages``): both front ends' demo phones get it from there."""
    import json

    try:
        lines = path.read_text("utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            out.append(message)
    return out


class DemoHost:
    """The demo host process, from the app's side (``dmptui.demo.DemoLink``). Starting returns at
    once; ``ready``/``wait`` say when the host answers. A context manager: it stops the host."""

    def __init__(self, directory: Path | None = None) -> None:
        import tempfile

        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="dmptui-demo-"))
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ins, self.password = DEMO_INS, DEMO_PASSWORD
        self.outbox = self.directory / OUTBOX_FILE
        self.log = self.directory / "host.log"
        self.creds: dict[str, Any] | None = None
        self._problem: str | None = None
        self._ready = threading.Event()
        self._over = threading.Event()
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then (else ~40 ms per answer).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            fd = sock.fileno()
            with open(self.log, "wb") as log:
                self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                    [sys.executable, "-m", "dmptui.entry.demo", str(self.directory), str(fd)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    pass_fds=(fd,),
                    start_new_session=True,  # Ctrl+C in the terminal is the app's, not the host's
                )
        finally:
            sock.close()  # the host process holds its own copy
        threading.Thread(target=self._watch, name="dmptui-demo-host", daemon=True).start()

    def _watch(self) -> None:
        import json

        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            self.creds = json.loads(line)["creds"] if line else None
        except (ValueError, KeyError, TypeError):
            self.creds = None
        if self.creds is not None:
            self._ready.set()
        else:
            code = self.proc.wait()
            self._problem = f"exit code {code}; its log: {self.log}"
        self._over.set()

    # --- DemoLink ------------------------------------------------------------------------------

    def ready(self) -> bool:
        return self._ready.is_set()

    def wait(self, timeout: float = START_TIMEOUT) -> bool:
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
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()  # the host process ends when its stdin closes
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._own_directory:
            import shutil

            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> DemoHost:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


# --- the host process ------------------------------------------------------------------------


def serve(directory: Path, fd: int) -> int:
    """Migrate and seed a fresh SQLite file in ``directory``, then serve the host on the
    listening socket ``fd``; one JSON line on stdout once it answers; stop when stdin closes."""
    import json
    import time

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

    def tell_then_watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        if server.started:
            sys.stdout.write(json.dumps({"ready": True, "creds": creds}) + "\n")
            sys.stdout.flush()
        sys.stdin.read()  # until the app closes it, or ends
        server.should_exit = True

    threading.Thread(target=tell_then_watch, daemon=True).start()
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m dmptui.entry.demo DIRECTORY FD", file=sys.stderr)
        sys.exit(2)
    os.umask(0o077)
    sys.exit(serve(Path(sys.argv[1]), int(sys.argv[2])))

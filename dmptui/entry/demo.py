"""The embedded default: the host in-process on loopback, on a fresh SQLite file with the demo
record, and its file outbox for the demo phone (sealed: ``Demo.phone`` opens it with the demo's
master key). Used by ``dmptui demo``."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Demo:
    url: str
    outbox: Path
    creds: dict[str, Any]
    directory: Path
    # The messages of the file outbox, opened (the demo phone calls it).
    phone: Callable[[], list[dict[str, Any]]]


@contextmanager
def running_demo(directory: Path | None = None) -> Iterator[Demo]:
    """Start the demo host in a thread; stop it on exit. The database is a fresh file."""
    import uvicorn

    from dmptui.host import crypto
    from dmptui.host.app import create_app
    from dmptui.host.context import Host
    from dmptui.host.db import migrate
    from dmptui.host.outbox import FileTransport, Router
    from dmptui.host.outbox_file import reader
    from dmptui.host.seed import seed_demo

    with tempfile.TemporaryDirectory(prefix="dmptui-demo-") as tmp:
        base = directory or Path(tmp)
        url = f"sqlite:///{base / 'demo.sqlite3'}"
        migrate(url)
        crypto.ensure_master_key(base)
        host = Host(url, base)
        creds = seed_demo(host)
        host.engine.dispose()
        files = FileTransport(base / "outbox")
        app = create_app(url, base, maintenance_every=0.5, transport=Router(files, files))
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then (else ~40 ms per answer).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        try:
            phone = reader(files.path, base)
            yield Demo(f"http://127.0.0.1:{port}", files.path, creds, base, phone)
        finally:
            server.should_exit = True
            thread.join(timeout=5)
            sock.close()

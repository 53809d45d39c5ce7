"""The record host's FastAPI application: routes, error shapes, the body-size limit, and the
maintenance loop (notices, the 10-year purge, outbox delivery)."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dmptui import __version__
from dmptui.host import concurrency, crypto, lifecycle, outbox
from dmptui.host.context import ApiError, Host
from dmptui.host.db import utcnow
from dmptui.host.routes import auth as auth_routes
from dmptui.host.routes import ledger as ledger_routes
from dmptui.host.routes import patient as patient_routes
from dmptui.host.routes import practitioner as practitioner_routes
from dmptui.schema import MAX_BODY_BYTES

log = logging.getLogger("dmptui.host")

# Deposits carry base64 (4/3 of the 10 MB limit) plus JSON framing.
REQUEST_LIMIT = MAX_BODY_BYTES * 4 // 3 + 64 * 1024


class BodyLimit:
    """Refuse request bodies over the limit before reading them whole (413, JSON)."""

    def __init__(self, app: Any, limit: int = REQUEST_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(send)
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send)


class ProcessTag:
    """Name the host process that answered in an ``X-Host-Process`` header: a random tag drawn
    at start-up (not the pid), so an operator behind a load balancer, or a test running several
    workers, can tell replicas apart."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.header = (b"x-host-process", secrets.token_hex(4).encode())

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self.header]
            await send(message)

        await self.app(scope, receive, tagged)


class _TooLarge(Exception):
    pass


async def _too_large(send: Callable) -> None:
    body = b'{"error":"too_large","field":"body","message":"The request body is over 10 MB."}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def run_maintenance(
    host: Host, transport: outbox.Router | None, now: datetime | None = None
) -> None:
    now = now or host.now()
    with host.tx() as s:
        lifecycle.send_due_notices(s, now)
    with host.tx() as s:
        erased = lifecycle.purge_due(s, now)
    if erased:
        host.checkpoint()
    with host.tx() as s:
        concurrency.purge_keys(s, now)
    if transport is not None:
        outbox.deliver_pending(host.sessions, transport, now=now)


def create_app(
    db_url: str,
    data_dir: Path,
    *,
    clock: Callable[[], datetime] = utcnow,
    maintenance_every: float | None = None,
    transport: outbox.Router | None = None,
    master_key: bytes | None = None,
) -> FastAPI:
    """Build the host. The schema must already be migrated (``db.migrate``). With
    ``maintenance_every`` seconds, a background thread sends due notices, purges and delivers
    the outbox (to ``transport``, default: from the environment, else a file outbox).
    The master key: ``master_key``, else ``DMPTUI_MASTER_KEY``, else ``<data_dir>/master.key``;
    a missing or wrong key raises ``crypto.MasterKeyError`` here, before anything is served."""
    host = Host(db_url, data_dir, clock=clock, master_key=master_key)
    host.ledger_key  # noqa: B018 - load (or create) the signing key now, not at the first visit
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        thread = None
        if maintenance_every:
            router = transport or outbox.transport_from_env(data_dir)

            def loop() -> None:
                while not stop.wait(maintenance_every):
                    try:
                        run_maintenance(host, router)
                    except Exception:  # keep serving; the next round retries
                        log.exception("maintenance round failed")

            thread = threading.Thread(target=loop, name="dmptui-maintenance", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)
        host.engine.dispose()

    app = FastAPI(
        title="DMP record host (dmptui)",
        version=__version__,
        description="The reference host of the shared medical record: every rule enforced "
        "here, every access traced.",
        lifespan=lifespan,
    )
    app.state.host = host

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(crypto.DecryptionError)
    async def _undecryptable(_: Request, exc: crypto.DecryptionError) -> JSONResponse:
        log.error("a stored value does not decrypt: %s", exc)  # ids only, never content
        return JSONResponse(
            {
                "error": "undecryptable",
                "message": "This item cannot be decrypted: it was altered or moved in the host's "
                "database. Nothing was shown. The host's operator must restore it from a backup.",
            },
            status_code=409,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        kind = first.get("type", "")
        field = _field(loc)
        if kind in ("json_invalid", "model_attributes_type") or field == "body":
            field = "body"
        message = str(first.get("msg", "invalid input"))
        if kind == "extra_forbidden":
            message = f"Unknown field `{field}`."
        return JSONResponse(
            {"error": "invalid_input", "field": field, "reason": kind, "message": message},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.get("/v1/health", tags=["host"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(auth_routes.router)
    app.include_router(patient_routes.router)
    app.include_router(ledger_routes.router)
    app.include_router(practitioner_routes.router)
    app.add_middleware(BodyLimit)
    app.add_middleware(ProcessTag)
    return app


ENV_DATABASE_URL = "DMPTUI_DATABASE_URL"
ENV_DATA_DIR = "DMPTUI_DATA_DIR"
ENV_MAINTENANCE_EVERY = "DMPTUI_MAINTENANCE_EVERY"


def app_from_env() -> FastAPI:
    """The app factory for several worker processes (``uvicorn --factory
    dmptui.host.app:app_from_env``, or ``dmptui host serve --workers N``): each process builds its
    own app from the environment. Every piece of state the processes share lives in the
    database; a process holds only its connection pool and constants."""
    url = os.environ.get(ENV_DATABASE_URL)
    data_dir = os.environ.get(ENV_DATA_DIR)
    if not url or not data_dir:
        raise RuntimeError(f"set {ENV_DATABASE_URL} and {ENV_DATA_DIR} (dmptui host serve does)")
    every = float(os.environ.get(ENV_MAINTENANCE_EVERY) or 0) or None
    return create_app(url, Path(data_dir), maintenance_every=every)

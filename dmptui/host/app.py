"""The record host's FastAPI application: routes, error shapes, the body-size limit, and the
maintenance loop (notices, the 10-year purge, spent login state, outbox delivery)."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dmptui import __version__
from dmptui.host import concurrency, crypto, ledger, lifecycle, outbox
from dmptui.host.context import ApiError, Host
from dmptui.host.db import utcnow
from dmptui.host.routes import account as account_routes
from dmptui.host.routes import auth as auth_routes
from dmptui.host.routes import ledger as ledger_routes
from dmptui.host.routes import patient as patient_routes
from dmptui.host.routes import practitioner as practitioner_routes
from dmptui.host.routes import recovery as recovery_routes
from dmptui.host.routes import support as support_routes
from dmptui.host.routes.common import known_query, plain_params
from dmptui.schema import MAX_BODY_BYTES

log = logging.getLogger("dmptui.host")

# Deposits carry base64 (4/3 of the 10 MB limit) plus JSON framing.
REQUEST_LIMIT = MAX_BODY_BYTES * 4 // 3 + 64 * 1024


class BodyLimit:
    """Refuse request bodies over the limit (413, JSON) before they are parsed: at once on a
    ``Content-Length`` over it, else (a chunked body) by counting the bytes as they arrive. On
    the byte that passes the limit the 413 is sent from here and the app is told the client went
    away: it stops reading, and whatever it answers then is dropped."""

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
        started = refused = False

        async def limited() -> dict:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    if not started:
                        await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: dict) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited, guarded)


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
    # A name the client wrote (an unknown field) is echoed: as valid text, however it came.
    return ".".join(parts).encode("utf-8", "replace").decode("utf-8")[:80] or "body"


def run_maintenance(
    host: Host, transport: outbox.Router | None, now: datetime | None = None
) -> None:
    now = now or host.now()
    with host.tx() as s:
        lifecycle.send_due_notices(s, now)
    with host.tx() as s:
        erased = lifecycle.purge_due(s, now)
    if erased:
        host.erased(erased)
    with host.tx() as s:
        concurrency.purge_keys(s, now)
        lifecycle.purge_spent_refresh_tokens(s, now)
    with host.tx() as s:
        lifecycle.purge_login_state(s, now)
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
    try:  # load (or create) the signing key now, not at the first visit; refuse a replaced one
        ledger.signing_key(host)
        host.seal_legacy_outbox()  # a file outbox an older version wrote in clear
    except BaseException:
        host.engine.dispose()
        raise
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
        dependencies=[Depends(known_query), Depends(plain_params)],
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

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:
            raise exc  # a fault of the host's own: the server's 500, logged with its traceback
        log.warning("the database connection was lost: %s", type(exc.orig).__name__)
        return JSONResponse(
            {
                "error": "database_unavailable",
                "message": "The record host lost its connection to its database. What you asked "
                "may not have been done: check, then try again in a few seconds.",
            },
            status_code=503,
            headers={"Retry-After": "2"},
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
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # a body that is not JSON (or not UTF-8): an input error
            return JSONResponse(
                {
                    "error": "invalid_input",
                    "field": "body",
                    "reason": "json_invalid",
                    "message": "The request body is not valid JSON.",
                },
                status_code=422,
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the one route it tried; a path served by
            # several routes (GET and DELETE) allows all of theirs.
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return JSONResponse(
            {"error": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.get("/v1/health", tags=["host"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(auth_routes.router)
    app.include_router(recovery_routes.router)
    app.include_router(account_routes.router)
    app.include_router(patient_routes.router)
    app.include_router(ledger_routes.router)
    app.include_router(practitioner_routes.router)
    app.include_router(support_routes.router)
    app.add_middleware(BodyLimit)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_contract(get_openapi_of(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
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
    from dmptui import settings

    url = settings.env_value("database_url")
    data_dir = settings.env_value("data_dir")
    if not url or not data_dir:
        raise RuntimeError(f"set {ENV_DATABASE_URL} and {ENV_DATA_DIR} (dmptui host serve does)")
    every = settings.env_value("maintenance_every") or None
    return create_app(url, data_dir, maintenance_every=every)


def api_routes(app: FastAPI) -> list[Any]:
    """Every route of the app, included routers flattened (FastAPI keeps those as branches):
    objects with ``path``, ``path_regex`` and ``methods``."""
    out: list[Any] = []

    def walk(routes: Any) -> None:
        for route in routes:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                walk(contexts())
            elif getattr(route, "methods", None) and getattr(route, "path_regex", None):
                out.append(route)

    walk(app.routes)
    return out


def allowed_methods(app: FastAPI, scope: Mapping[str, Any]) -> list[str]:
    path = scope.get("path", "")
    methods: set[str] = set()
    for route in api_routes(app):
        if route.path_regex.match(path):
            methods |= set(route.methods)
    return sorted(methods)


def get_openapi_of(app: FastAPI) -> dict[str, Any]:
    from fastapi.openapi.utils import get_openapi

    return get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )


# Who may call what: the patient with a bearer session token, a practitioner with the CPS
# credential header, the support desk with its own credential header; login, verify, refresh and
# the code requests are open (they are the way in).
PATIENT_AUTH = "patientSession"
PRACTITIONER_AUTH = "practitionerCard"
SUPPORT_AUTH = "supportDesk"
_OPEN = {
    "/v1/health",
    "/v1/auth/login",
    "/v1/auth/otp",
    "/v1/auth/verify",
    "/v1/auth/activate",  # the first enrolment: a login's challenge and the letter's code
    "/v1/auth/refresh",
    # Account recovery: the flow is its own credential (routes/recovery.py).
    "/v1/auth/reset/start",
    "/v1/auth/reset/verify",
    "/v1/auth/reset/password",
    "/v1/auth/reenrol/start",
    "/v1/auth/reenrol/verify",
    "/v1/ledger/key",  # the public key that checks the trace checkpoints
}
_ERRORS = {
    "401": "Not authenticated, session ended, or a fresh code is needed (step-up).",
    "403": "Refused by the record's rules (the refusal is traced on a known record).",
    "404": "No such object in the caller's reach.",
    "409": "The request conflicts with the record's present state.",
    "410": "The record is erased (at login, error `account_erased`: the right password for "
    "an erased record; the account no longer exists).",
    "413": "The request body is over 10 MB.",
    "422": "The input is invalid: `field` names it, `reason` says why.",
    "429": "Too many attempts (`locked`): logging in (or, reason `step_up`, confirming with "
    "a code) is paused until `locked_until` (Retry-After: in seconds); the attempt was neither "
    "checked nor counted. From the third wrong password or code in a row, the 401 says "
    "`tries_left` before a pause.",
    "503": "This host process holds a replaced trace signing key (restart it with the new one).",
}


def security_of(path: str) -> str | None:
    if path in _OPEN:
        return None
    if path.startswith("/v1/ps/"):
        return PRACTITIONER_AUTH
    if path.startswith("/v1/support/"):
        return SUPPORT_AUTH
    return PATIENT_AUTH


def document_contract(spec: dict[str, Any]) -> dict[str, Any]:
    """Declare in the OpenAPI what the host really does: the two ways to authenticate, and the
    error answers (all shaped as ``ErrorBody``) each operation can give."""
    from dmptui.schema import PRACTITIONER_HEADER, SUPPORT_HEADER, DepositRequest, ErrorBody

    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    # The deposit reads its body itself (after the credential): its model is named here.
    deposit = DepositRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in deposit.pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.setdefault("DepositRequest", deposit)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        PATIENT_AUTH: {"type": "http", "scheme": "bearer"},
        PRACTITIONER_AUTH: {"type": "apiKey", "in": "header", "name": PRACTITIONER_HEADER},
        SUPPORT_AUTH: {"type": "apiKey", "in": "header", "name": SUPPORT_HEADER},
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    for path, operations in spec.get("paths", {}).items():
        scheme = security_of(path)
        for method, op in operations.items():
            _declare_headers(op, method, scheme)
            codes = set(ERROR_CODES.get((path, op.get("operationId", "")), ()))
            codes |= {"413", "422"}
            if scheme is not None:
                op["security"] = [{scheme: []}]
                codes |= {"401"}
            if scheme == PATIENT_AUTH:
                codes |= {"403", "410"}
            if scheme == PRACTITIONER_AUTH:
                codes |= {"403", "404", "410"}
            if scheme == SUPPORT_AUTH:
                codes |= {"404"} | ({"409", "410"} if method == "post" else set())
            if "{" in path:
                codes |= {"404"}
            if path.startswith("/v1/auth/"):
                codes |= {"401", "429"}
            responses = op.setdefault("responses", {})
            for code in sorted(codes):
                responses[code] = {"description": _ERRORS[code], "content": error}
    return spec


def _declare_headers(op: dict[str, Any], method: str, scheme: str | None) -> None:
    """The request headers of the concurrency rules (``concurrency.py``): a change of a versioned
    resource needs If-Match (428 without it, 412 when stale); every change of a record accepts
    an Idempotency-Key."""
    params = op.setdefault("parameters", [])
    names = {p.get("name", "").lower() for p in params}
    if "412" in op.get("responses", {}) and "if-match" not in names:
        params.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": "The ETag of the version the change is based on (a strong "
                "ETag, quoted; `*` is refused with 428: a change must say which version it saw).",
                "schema": {"type": "string", "pattern": '^"[!#-~]+"$'},
            }
        )
    changes = method in ("post", "put", "delete")
    if scheme is not None and changes and "idempotency-key" not in names:
        params.append(
            {
                "name": concurrency.IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "A key of your choosing (a UUID): a retry with it is applied once.",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": concurrency.MAX_KEY,
                    "pattern": "^[!-~]([ -~]*[!-~])?$",
                },
            }
        )


# Error answers beyond the defaults above, by (path, operationId).
ERROR_CODES: dict[tuple[str, str], tuple[str, ...]] = {
    ("/v1/record/trace/checkpoint", "checkpoint_v1_record_trace_checkpoint_get"): ("503",),
    # A new password before the codes are proven.
    ("/v1/auth/reset/password", "reset_password_v1_auth_reset_password_post"): ("403",),
    ("/v1/auth/reenrol/verify", "reenrol_verify_v1_auth_reenrol_verify_post"): ("403",),
    # The right password for an erased record (``account_erased``): the account is gone.
    ("/v1/auth/login", "login_v1_auth_login_post"): ("410",),
}

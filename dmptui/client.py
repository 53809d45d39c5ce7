"""The async client of the record host's patient API: typed errors, retries, timeouts, refresh.

Shares nothing with the host but ``dmptui.schema``: every request body is built from, and every
answer is validated against, the schema's models. Any answer that does not fit becomes
``InvalidResponse``; every failure is a subclass of ``HostError`` with a stable ``code``.

Retries: GET (idempotent) and every change sent with an ``Idempotency-Key`` are retried on an
unreachable host, a timeout or a 5xx, with exponential backoff and jitter, ``retries`` times (3
tries in all by default); a keyed retry reuses its key, so the host applies the change once and
answers the retry with the first answer. Every change of the record (POST, PUT, DELETE) gets a
fresh key (uuid4). A request without a key that is not idempotent (login, code, refresh, step-up,
logout) is retried only when the connection could not even be opened (nothing was sent).

Conditional changes: the client keeps the last ``ETag`` it saw for each mutable resource
(oppositions, the practitioners set, notes, each document's masking state, the record's status)
and sends it in ``If-Match``. If the resource changed elsewhere meanwhile, the host answers 412:
``Stale`` (its message says so in words); the ETag is dropped, and the caller reloads. A change on
a resource this client has not loaded yet loads it first.

Sessions: the access token idles out on the host after 15 minutes. On ``401 session_expired`` the
client refreshes once (the host rotates both tokens) and replays the request once; if the refresh
is refused, the tokens are cleared and ``SessionExpired`` is raised, with the host's reason
(``idle``: the session ended after 15 minutes without a request, refresh included;
``refresh_reused``: a refresh token already exchanged was shown again, which ends the session).
``on_tokens`` is called with every new pair of tokens (to keep a stored refresh token current),
``on_session_end`` whenever the tokens are dropped.

Secrets (tokens, passwords, codes) never appear in an error's message or repr.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, RootModel, ValidationError
from pydantic_core import from_json

from dmptui import __version__
from dmptui.explain import STALE_TEXT
from dmptui.i18n import _
from dmptui.schema import (
    API_PREFIX,
    DEVICE_HEADER,
    AccountDone,
    ActivateRequest,
    AttendingChange,
    AuthorisationRequest,
    CheckpointOut,
    ConsistencyProofOut,
    DirectoryPage,
    DocumentOut,
    DocumentPage,
    ErrorBody,
    InclusionProofOut,
    LedgerKeyOut,
    LifecycleDone,
    LoginChallenge,
    LoginRequest,
    NotesIn,
    NotesOut,
    NotificationPage,
    Oppositions,
    OtpRequest,
    OtpSent,
    PasswordChange,
    PractitionersOut,
    RecordOut,
    RecoveryCode,
    ReenrolDone,
    ReenrolStart,
    ReenrolStarted,
    RefreshRequest,
    ResetDone,
    ResetPassword,
    ResetProgress,
    ResetStart,
    ResetStarted,
    SessionsOut,
    StepUpDone,
    StepUpOtpRequest,
    StepUpRequest,
    Tokens,
    TotpEnrolment,
    TracePage,
    VerifyRequest,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Document ETags kept from listings: the most recently listed ones. A list of 10,000 documents
# scrolled through would otherwise keep 10,000 of them (about 0.3 MB); a change to a document
# whose ETag was forgotten reads the document first (``_load``), as for any resource not seen.
LISTED_ETAGS = 500


# --- errors --------------------------------------------------------------------------------


# Pages of the long lists: parsed without pydantic-core's cache of JSON string values (it keeps
# up to 16,384 strings: the ids and titles of thousands of documents the list has long dropped,
# ~1.4 MB per 10,000 documents). Keys are still cached.
_LONG_LIST_PAGES: tuple[type[BaseModel], ...] = (DocumentPage, TracePage)


class HostError(Exception):
    """Anything other than a success. ``code`` is stable (the host's error code, or one of the
    client's own: "unreachable", "timeout", "server_error", "invalid_response", ...)."""

    code: str = "host_error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
        reason: str | None = None,
        retry_after: int | None = None,
        tries_left: int | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        self.status = status
        self.field = field
        self.reason = reason
        self.retry_after = retry_after
        self.tries_left = tries_left  # a wrong password or code: tries left before a pause
        self.message = message
        super().__init__(message or self.code)

    def __repr__(self) -> str:
        parts = [f"code={self.code!r}"]
        for name in ("status", "field", "reason", "retry_after", "tries_left"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class HostUnreachable(HostError):
    """No connection: refused, unknown name, reset, closed without an answer."""

    code = "unreachable"


class HostTimeout(HostError):
    code = "timeout"


class HostServerError(HostError):
    """The host answered 5xx."""

    code = "server_error"


class InvalidResponse(HostError):
    """The answer is not JSON, or not the shape the schema says."""

    code = "invalid_response"


class NotJson(InvalidResponse):
    """The answer is not JSON at all: an HTML page (a proxy's error page, a Wi-Fi portal, a
    maintenance page) or broken bytes."""

    code = "not_json"


class CursorLoop(InvalidResponse):
    """A list's next page is one this listing already went through: following it would loop
    for ever. What was loaded stays; the rest of the list cannot be fetched."""

    code = "cursor_loop"


class SessionExpired(HostError):
    """Not logged in, or the session has ended: log in again."""

    code = "session_expired"


class StepUpRequired(HostError):
    """The action needs a fresh one-time code (``Client.step_up``), then a retry."""

    code = "step_up_required"


class Refused(HostError):
    """403 (or 410 on an erased record); ``reason`` says why."""

    code = "forbidden"


class NotFound(HostError):
    code = "not_found"


class Stale(HostError):
    """412: the resource changed elsewhere since this client loaded it; nothing was changed.
    Reload it, show it, let the patient decide again. The message says so in words."""

    code = "stale"


class PreconditionRequired(HostError):
    """428: a change was sent without If-Match (a bug of the caller, not the patient's)."""

    code = "precondition_required"


class InProgress(HostError):
    """409: the first request with this Idempotency-Key is still being processed."""

    code = "in_progress"


class InvalidInput(HostError):
    """422 ``invalid_input`` or 413 ``too_large``; ``field`` names what to correct."""

    code = "invalid_input"


class Locked(HostError):
    """Too many failed attempts: paused for ``retry_after`` seconds (reason ``step_up``: the
    confirming codes are paused, not logging in)."""

    code = "locked"


class AccountErased(HostError):
    """The right password for a record that was erased: the account no longer exists."""

    code = "account_erased"


class InvalidCredentials(HostError):
    code = "invalid_credentials"


class InvalidCode(HostError):
    code = "invalid_code"


class ChallengeExpired(HostError):
    code = "challenge_expired"


class TooManyCodes(HostError):
    code = "too_many_codes"


class ActivationRequired(HostError):
    """403: the record is not activated yet; the activation code comes first."""

    code = "activation_required"


class InvalidActivationCode(HostError):
    code = "invalid_activation_code"


class AlreadyActivated(HostError):
    code = "already_activated"


class FlowExpired(HostError):
    """A password reset or re-enrolment that has expired, is spent, or had too many tries."""

    code = "flow_expired"


class RecoveryLimited(HostError):
    """Too many resets or re-enrolments started for this INS; ``retry_after`` seconds."""

    code = "recovery_limited"


BY_CODE: dict[str, type[HostError]] = {
    "session_expired": SessionExpired,
    "unauthenticated": SessionExpired,
    "step_up_required": StepUpRequired,
    "forbidden": Refused,
    "not_found": NotFound,
    "stale": Stale,
    "precondition_required": PreconditionRequired,
    "in_progress": InProgress,
    "invalid_input": InvalidInput,
    "too_large": InvalidInput,
    "locked": Locked,
    "account_erased": AccountErased,
    "invalid_credentials": InvalidCredentials,
    "invalid_code": InvalidCode,
    "challenge_expired": ChallengeExpired,
    "too_many_codes": TooManyCodes,
    "activation_required": ActivationRequired,
    "invalid_activation_code": InvalidActivationCode,
    "already_activated": AlreadyActivated,
    "flow_expired": FlowExpired,
    "recovery_limited": RecoveryLimited,
}

BY_STATUS: dict[int, type[HostError]] = {
    401: SessionExpired,
    403: Refused,
    404: NotFound,
    409: InProgress,
    410: Refused,
    412: Stale,
    413: InvalidInput,
    422: InvalidInput,
}


def _retry_after(headers: httpx.Headers) -> int | None:
    raw = headers.get("retry-after", "").strip()
    return int(raw) if raw.isdigit() else None


def error_from_response(response: httpx.Response) -> HostError:
    """The typed error for a 4xx/5xx answer."""
    status = response.status_code
    if status >= 500:
        return HostServerError(f"the record host failed (HTTP {status})", status=status)
    try:
        body: ErrorBody | None = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        body = None
    if body is None and not _is_json(response):
        return NotJson(
            f"the record host answered HTTP {status} with "
            f"{_media_type(response) or 'no content type'}, not JSON",
            status=status,
        )
    if body is None:
        return InvalidResponse(
            f"the record host answered HTTP {status} without an error body", status=status
        )
    cls = BY_CODE.get(body.error) or BY_STATUS.get(status, HostError)
    return cls(
        _(STALE_TEXT) if cls is Stale else body.message,
        code=body.error,
        status=status,
        field=body.field,
        reason=body.reason,
        retry_after=_retry_after(response.headers),
        tries_left=body.tries_left,
    )


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json(response: httpx.Response) -> bool:
    kind = _media_type(response)
    return kind == "application/json" or kind.endswith("+json")


def _describe(error: ValidationError) -> str:
    """Where a model did not fit, without the values (they may be secrets)."""
    places = []
    for e in error.errors(include_url=False, include_input=False)[:3]:
        loc = ".".join(str(p) for p in e.get("loc", ())) or "body"
        places.append(f"{loc}: {e.get('type', 'invalid')}")
    return "; ".join(places)


def _request_body(model: type[M], **values: Any) -> dict[str, Any]:
    """Check a request against its schema model before sending it (InvalidInput if it does
    not fit, naming the field, never echoing the value)."""
    try:
        return model(**values).model_dump(mode="json")
    except ValidationError as e:
        first = e.errors(include_url=False, include_input=False)[0]
        loc = [str(p) for p in first.get("loc", ())]
        raise InvalidInput(
            str(first.get("msg", "invalid input")),
            field=".".join(loc) or None,
            reason=str(first.get("type", "")) or None,
        ) from None


def _segment(value: str, field: str) -> str:
    """One path segment, escaped (an id can never reach another route)."""
    value = str(value)
    if not value.strip(" ."):  # empty, or "." / ".." (which a URL would resolve away)
        raise InvalidInput(f"{field} is not an identifier", field=field, reason="empty")
    return quote(value, safe="")


def _params(**values: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or value is False:
            continue
        if value is True:
            out[key] = "true"
        elif isinstance(value, datetime):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


class _InclusionList(RootModel[list[InclusionProofOut]]):
    pass


class _Gone:
    """Marker: a retried DELETE found the thing already gone (the first attempt did it)."""


GONE = _Gone()


# --- client --------------------------------------------------------------------------------


def host_url(raw: str) -> httpx.URL:
    """The host's address as the app uses it: http(s), a host name, and nothing that could carry
    a secret — a user name and password, a query string or a fragment in the address are dropped
    (httpx would send them and log them with every request)."""
    url = httpx.URL(raw)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("the host URL must be http:// or https:// with a host name")
    return url.copy_with(userinfo=b"", query=None, fragment=None)


class Client:
    """The patient's side of the host API. One instance per host; not shared between loops."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        device_id: str | None = None,
        retries: int = 2,
    ) -> None:
        url = host_url(base_url)
        self.base_url = str(url)
        self.retries = max(0, retries)
        self.backoff = 0.2  # seconds before the first retry; doubled each time
        self.device_id = device_id
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        # The last ETag seen per resource: "oppositions", "practitioners", "notes", "status",
        # "document:<id>".
        self.etags: dict[str, str] = {}
        self.on_tokens: Callable[[Tokens], None] | None = None
        self.on_session_end: Callable[[], None] | None = None
        headers = {"User-Agent": f"dmptui/{__version__}", "Accept": "application/json"}
        if device_id:
            headers[DEVICE_HEADER] = device_id
        self._http = httpx.AsyncClient(
            base_url=url,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            headers=headers,
            follow_redirects=False,
        )
        self._refreshing = asyncio.Lock()
        # Per listing (path + filters): the cursors followed, page cursor -> next cursor.
        self._listings: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str | None, str]] = {}

    def __repr__(self) -> str:
        return f"Client({self.base_url!r}, logged_in={self.logged_in})"

    @property
    def logged_in(self) -> bool:
        return self.access_token is not None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- tokens ------------------------------------------------------------------------

    def _set_tokens(self, tokens: Tokens) -> None:
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token
        if self.on_tokens is not None:
            try:
                self.on_tokens(tokens)
            except Exception as e:  # a storage hook must not break a call that succeeded
                log.warning("on_tokens hook failed: %s", type(e).__name__)

    def _clear_tokens(self) -> None:
        had = self.access_token is not None or self.refresh_token is not None
        self.access_token = None
        self.refresh_token = None
        if had and self.on_session_end is not None:
            try:
                self.on_session_end()
            except Exception as e:
                log.warning("on_session_end hook failed: %s", type(e).__name__)

    # --- transport ---------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        gone_ok: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> httpx.Response | _Gone:
        """One request with retries; a 2xx response, or a typed error. Retried after it may
        have reached the host only if it is idempotent or carries an Idempotency-Key."""
        idempotent = method in IDEMPOTENT or IDEMPOTENCY_HEADER in (extra or {})
        headers = dict(extra or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        url = API_PREFIX + path
        attempts = self.retries + 1
        maybe_done = False  # an earlier attempt may have reached the host
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self._http.request(
                    method, url, json=json, params=params, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as e:
                # Nothing was sent: safe to retry whatever the method.
                error: HostError = (
                    HostUnreachable("could not connect to the record host")
                    if isinstance(e, httpx.ConnectError)
                    else HostTimeout("timed out connecting to the record host")
                )
                if last:
                    raise error from e
                await self._pause(attempt)
                continue
            except httpx.TimeoutException as e:
                if last or not idempotent:
                    raise HostTimeout("the record host did not answer in time") from e
                maybe_done = True
                await self._pause(attempt)
                continue
            except httpx.UnsupportedProtocol as e:
                raise HostUnreachable("the host URL cannot be used", code="bad_url") from e
            except httpx.TransportError as e:
                if last or not idempotent:
                    raise HostUnreachable(
                        f"the connection to the record host failed ({type(e).__name__})"
                    ) from e
                maybe_done = True
                await self._pause(attempt)
                continue
            if response.status_code >= 500:
                if last or not idempotent:
                    raise error_from_response(response)
                maybe_done = True
                await self._pause(attempt)
                continue
            if 200 <= response.status_code < 300:
                return response
            if gone_ok and maybe_done and response.status_code == 404:
                return GONE
            if response.status_code < 400:
                raise InvalidResponse(
                    f"unexpected HTTP {response.status_code} from the record host",
                    status=response.status_code,
                )
            raise error_from_response(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pause(self, attempt: int) -> None:
        # Exponential, with jitter: two clients that failed together do not retry together.
        await asyncio.sleep(self.backoff * (2**attempt) * random.uniform(0.5, 1.5))  # noqa: S311

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        gone_ok: bool = False,
        extra: Mapping[str, str] | None = None,
    ) -> httpx.Response | _Gone:
        """An authenticated request: refresh once and replay once on an expired session."""
        if self.access_token is None:
            if self.refresh_token is None:
                raise SessionExpired("not logged in", code="not_logged_in")
            await self._refresh_after(None)
        used = self.access_token
        try:
            return await self._send(
                method, path, json=json, params=params, token=used, gone_ok=gone_ok, extra=extra
            )
        except SessionExpired:
            if self.refresh_token is None:
                self._clear_tokens()
                raise
        await self._refresh_after(used)
        try:
            return await self._send(
                method,
                path,
                json=json,
                params=params,
                token=self.access_token,
                gone_ok=gone_ok,
                extra=extra,
            )
        except SessionExpired:
            self._clear_tokens()
            raise

    async def _refresh_after(self, used: str | None) -> None:
        """Refresh, unless another call already did while this one waited."""
        async with self._refreshing:
            if self.access_token is not None and self.access_token != used:
                return
            await self.refresh()

    @staticmethod
    def _model(response: httpx.Response | _Gone, model: type[M]) -> M:
        if isinstance(response, _Gone):  # pragma: no cover - only with gone_ok
            raise NotFound("already gone")
        if not _is_json(response):
            raise NotJson(
                f"the record host answered with {_media_type(response) or 'no content type'}, "
                f"not JSON",
                status=response.status_code,
            )
        try:
            if model in _LONG_LIST_PAGES:
                try:
                    data = from_json(response.content, cache_strings="keys")
                except ValueError:  # not JSON: the validator says so, as for any answer
                    return model.model_validate_json(response.content)
                return model.model_validate(data)
            return model.model_validate_json(response.content)
        except ValidationError as e:
            raise InvalidResponse(
                f"the record host's answer does not fit {model.__name__} ({_describe(e)})",
                status=response.status_code,
            ) from None

    async def _get(self, path: str, model: type[M], **params: Any) -> M:
        return self._model(await self._call("GET", path, params=_params(**params)), model)

    def _saw(self, resource: str, response: httpx.Response | _Gone) -> None:
        tag = response.headers.get("etag") if isinstance(response, httpx.Response) else None
        if tag:
            self.etags[resource] = tag

    async def _get_tagged(self, path: str, model: type[M], resource: str) -> M:
        response = await self._call("GET", path)
        out = self._model(response, model)
        self._saw(resource, response)
        return out

    async def _change(
        self,
        method: str,
        path: str,
        resource: str | None,
        *,
        json: Any = None,
        gone_ok: bool = False,
    ) -> httpx.Response | _Gone:
        """A change of the record: a fresh Idempotency-Key (kept for its retries), and If-Match
        with the last ETag seen for ``resource``; 412 becomes ``Stale``."""
        extra = {IDEMPOTENCY_HEADER: str(uuid.uuid4())}
        if resource is not None:
            if resource not in self.etags:
                await self._load(resource)
            if resource in self.etags:
                extra["If-Match"] = self.etags[resource]
        try:
            response = await self._call(method, path, json=json, gone_ok=gone_ok, extra=extra)
        except Stale:
            if resource is not None:
                self.etags.pop(resource, None)
            raise
        if resource is not None:
            self._saw(resource, response)
        return response

    async def _load(self, resource: str) -> None:
        if resource == "practitioners":
            await self.practitioners()
        elif resource == "notes":
            await self.notes()
        elif resource == "oppositions":
            await self.oppositions()
        elif resource == "status":
            await self.record()
        elif resource.startswith("document:"):
            await self.document(resource.removeprefix("document:"))

    async def _page(self, path: str, model: type[M], cursor: str | None, **params: Any) -> M:
        """One page of a listing. A listing starts with ``cursor=None``; within it, a next
        cursor that is one this listing already had (the host going round in circles) raises
        ``CursorLoop``: following it would fetch the same pages for ever. Fetching the same
        page again (a retry) is not a loop."""
        key = (path, tuple(sorted((k, str(v)) for k, v in params.items() if k != "limit")))
        if cursor is None:
            self._listings[key] = {}
        links = self._listings.setdefault(key, {})
        page = await self._get(path, model, cursor=cursor, **params)
        nxt = getattr(page, "next_cursor", None)
        if nxt is not None and links.get(cursor) != nxt:
            if nxt == cursor or nxt in links or nxt in links.values():
                self._listings.pop(key, None)
                raise CursorLoop(
                    "the record host gave a next page this list has already shown "
                    "(its cursor goes round in circles); stopped there",
                    status=200,
                )
            links[cursor] = nxt
        if len(self._listings) > 32:  # old listings (other filters) are forgotten
            self._listings.pop(next(iter(self._listings)))
        return page

    # --- authentication ----------------------------------------------------------------

    async def login(self, ins: str, password: str) -> LoginChallenge:
        body = _request_body(LoginRequest, ins=ins, password=password)
        return self._model(await self._send("POST", "/auth/login", json=body), LoginChallenge)

    async def send_code(self, challenge: str, channel: str) -> OtpSent:
        body = _request_body(OtpRequest, challenge=challenge, channel=channel)
        return self._model(await self._send("POST", "/auth/otp", json=body), OtpSent)

    async def activate(self, challenge: str, activation_code: str) -> TotpEnrolment:
        """The first enrolment: the login's challenge and the letter's activation code give
        the authenticator's secret (once); then ``verify`` with a code of the authenticator."""
        body = _request_body(ActivateRequest, challenge=challenge, activation_code=activation_code)
        return self._model(await self._send("POST", "/auth/activate", json=body), TotpEnrolment)

    async def verify(self, challenge: str, code: str) -> Tokens:
        body = _request_body(VerifyRequest, challenge=challenge, code=code)
        tokens = self._model(await self._send("POST", "/auth/verify", json=body), Tokens)
        self.etags.clear()  # a new login: what was seen before may be another record's
        self._set_tokens(tokens)
        return tokens

    # --- account recovery (no session): forgotten password, lost authenticator ---------------

    async def reset_start(self, ins: str) -> ResetStarted:
        body = _request_body(ResetStart, ins=ins)
        return self._model(await self._send("POST", "/auth/reset/start", json=body), ResetStarted)

    async def reset_verify(self, flow: str, code: str) -> ResetProgress:
        body = _request_body(RecoveryCode, flow=flow, code=code)
        response = await self._send("POST", "/auth/reset/verify", json=body)
        return self._model(response, ResetProgress)

    async def reset_password(self, flow: str, password: str) -> ResetDone:
        body = _request_body(ResetPassword, flow=flow, password=password)
        return self._model(await self._send("POST", "/auth/reset/password", json=body), ResetDone)

    async def reenrol_start(self, ins: str, password: str, channel: str) -> ReenrolStarted:
        body = _request_body(ReenrolStart, ins=ins, password=password, channel=channel)
        response = await self._send("POST", "/auth/reenrol/start", json=body)
        return self._model(response, ReenrolStarted)

    async def reenrol_verify(self, flow: str, code: str) -> ReenrolDone:
        body = _request_body(RecoveryCode, flow=flow, code=code)
        response = await self._send("POST", "/auth/reenrol/verify", json=body)
        return self._model(response, ReenrolDone)

    async def refresh(self) -> Tokens:
        """New tokens for the refresh token (the host rotates both). A refusal ends the
        session: tokens cleared, ``SessionExpired``. A network failure keeps them."""
        if self.refresh_token is None:
            raise SessionExpired("not logged in", code="not_logged_in")
        try:
            body = _request_body(RefreshRequest, refresh_token=self.refresh_token)
            response = await self._send("POST", "/auth/refresh", json=body)
        except (HostUnreachable, HostTimeout, HostServerError):
            raise
        except HostError as e:
            self._clear_tokens()
            # The host's reason stays: "idle" (15 minutes without a request) or
            # "refresh_reused" (a spent refresh token was shown again: the session is over
            # for every holder), so the person is told why.
            raise SessionExpired(
                "the session has ended; log in again",
                code="session_expired",
                status=e.status,
                reason=e.reason,
            ) from None
        tokens = self._model(response, Tokens)
        self._set_tokens(tokens)
        return tokens

    async def resume(self, refresh_token: str) -> Tokens:
        """Start from a stored refresh token ("remember me")."""
        self.access_token = None
        self.refresh_token = refresh_token
        return await self.refresh()

    async def logout(self) -> None:
        """End the session on the host; the tokens are dropped here whatever happens. A session
        that had already ended is not an error; failing to reach the host is raised, after."""
        try:
            if self.access_token is None and self.refresh_token is not None:
                await self.refresh()  # a resumed session: get an access token to end it with
            if self.access_token is not None:
                await self._send("POST", "/auth/logout", token=self.access_token)
        except SessionExpired:
            pass
        finally:
            self.etags.clear()
            self._clear_tokens()

    async def step_up(self, code: str) -> StepUpDone:
        body = _request_body(StepUpRequest, code=code)
        return self._model(await self._call("POST", "/auth/step-up", json=body), StepUpDone)

    async def step_up_send(self, channel: str) -> OtpSent:
        body = _request_body(StepUpOtpRequest, channel=channel)
        return self._model(await self._call("POST", "/auth/step-up/otp", json=body), OtpSent)

    # --- the patient's account: sessions, devices, password ------------------------------

    async def account_sessions(self) -> SessionsOut:
        """The live sessions and remembered devices of the account."""
        return await self._get("/auth/sessions", SessionsOut)

    async def end_session(self, session_id: str) -> AccountDone:
        """End one session (by its opaque id). Ending this client's own drops its tokens."""
        path = f"/auth/sessions/{_segment(session_id, 'session_id')}"
        done = self._model(await self._call("DELETE", path), AccountDone)
        if done.current_ended:
            self.etags.clear()
            self._clear_tokens()
        return done

    async def forget_device(self, device_id: str) -> AccountDone:
        path = f"/auth/devices/{_segment(device_id, 'device_id')}"
        return self._model(await self._call("DELETE", path), AccountDone)

    async def logout_everywhere(self) -> AccountDone:
        """End every session of the account, this one included: the tokens are dropped."""
        done = self._model(await self._call("POST", "/auth/logout-everywhere"), AccountDone)
        self.etags.clear()
        self._clear_tokens()
        return done

    async def change_password(self, current: str, new: str) -> AccountDone:
        """Needs a fresh step-up. Not retried once sent (a second try would find the password
        already changed)."""
        body = _request_body(PasswordChange, current_password=current, new_password=new)
        return self._model(await self._call("POST", "/auth/password", json=body), AccountDone)

    # --- record and documents ----------------------------------------------------------

    async def record(self) -> RecordOut:
        out = await self._get("/record", RecordOut)
        for part in ("status", "oppositions"):
            if part in out.etags:
                self.etags[part] = out.etags[part]
        return out

    async def documents(
        self,
        limit: int = 50,
        cursor: str | None = None,
        type: str | None = None,
        q: str | None = None,
    ) -> DocumentPage:
        page = await self._page(
            "/record/documents", DocumentPage, cursor, limit=limit, type=type, q=q or None
        )
        for d in page.items:
            if d.etag:
                key = f"document:{d.id}"
                self.etags.pop(key, None)  # to the end: the most recently listed
                self.etags[key] = d.etag
        listed = [k for k in self.etags if k.startswith("document:")]
        for key in listed[: max(0, len(listed) - LISTED_ETAGS)]:
            del self.etags[key]
        return page

    async def document(self, doc_id: str) -> DocumentOut:
        return await self._get_tagged(
            f"/record/documents/{_segment(doc_id, 'doc_id')}", DocumentOut, f"document:{doc_id}"
        )

    async def content(self, doc_id: str) -> tuple[bytes, str]:
        """The document's bytes and the Content-Type header as sent (e.g.
        ``text/plain; charset=utf-8`` or ``application/pdf``)."""
        response = await self._call(
            "GET", f"/record/documents/{_segment(doc_id, 'doc_id')}/content"
        )
        assert isinstance(response, httpx.Response)
        content_type = response.headers.get("content-type", "")
        if not content_type:
            raise InvalidResponse("the document came without a content type", status=200)
        return response.content, content_type

    async def export(
        self, out: Any, progress: Callable[[int, int | None], None] | None = None
    ) -> int:
        """The whole record as a zip archive (``POST /record/export``, a fresh code needed),
        streamed into ``out`` (a binary file) as it comes: memory stays one chunk whatever the
        record's size. ``progress(received, estimate)``: bytes so far, and the host's estimate
        of the total (None if it gave none). Not retried: each export is traced."""
        for attempt in range(2):
            if self.access_token is None:
                if self.refresh_token is None:
                    raise SessionExpired("not logged in", code="not_logged_in")
                await self._refresh_after(None)
            used = self.access_token
            request = self._http.build_request(
                "POST", API_PREFIX + "/record/export", headers={"Authorization": f"Bearer {used}"}
            )
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as e:
                raise HostTimeout("the record host did not answer in time") from e
            except httpx.TransportError as e:
                raise HostUnreachable("could not connect to the record host") from e
            try:
                if response.status_code >= 300:
                    await response.aread()
                    error = error_from_response(response)
                    if isinstance(error, SessionExpired) and attempt == 0 and self.refresh_token:
                        await self._refresh_after(used)
                        continue
                    raise error
                raw = response.headers.get("x-export-estimate", "")
                estimate = int(raw) if raw.isdigit() else None
                received = 0
                try:
                    async for chunk in response.aiter_bytes():
                        out.write(chunk)
                        received += len(chunk)
                        if progress is not None:
                            progress(received, estimate)
                except httpx.TransportError as e:
                    raise HostUnreachable(
                        "the connection to the record host broke during the export"
                    ) from e
                return received
            finally:
                await response.aclose()
        raise AssertionError("unreachable")  # pragma: no cover

    async def mask(self, doc_id: str) -> DocumentOut:
        path = f"/record/documents/{_segment(doc_id, 'doc_id')}/mask"
        return self._model(await self._change("POST", path, f"document:{doc_id}"), DocumentOut)

    async def unmask(self, doc_id: str) -> DocumentOut:
        path = f"/record/documents/{_segment(doc_id, 'doc_id')}/unmask"
        return self._model(await self._change("POST", path, f"document:{doc_id}"), DocumentOut)

    async def delete_document(self, doc_id: str) -> None:
        """Needs a fresh step-up. If a retry finds the document gone, the first try did it."""
        path = f"/record/documents/{_segment(doc_id, 'doc_id')}"
        await self._change("DELETE", path, None, gone_ok=True)
        self.etags.pop(f"document:{doc_id}", None)

    # --- practitioners -----------------------------------------------------------------

    async def practitioners(self) -> PractitionersOut:
        return await self._get_tagged("/record/practitioners", PractitionersOut, "practitioners")

    async def directory(self, q: str, limit: int = 20) -> DirectoryPage:
        return await self._get("/directory", DirectoryPage, q=q, limit=limit)

    async def authorise(self, rpps: str, see_masked: bool = False) -> PractitionersOut:
        body = _request_body(AuthorisationRequest, see_masked=see_masked)
        path = f"/record/authorisations/{_segment(rpps, 'rpps')}"
        return self._model(
            await self._change("PUT", path, "practitioners", json=body), PractitionersOut
        )

    async def _delete_link(self, path: str) -> PractitionersOut:
        response = await self._change("DELETE", path, "practitioners", gone_ok=True)
        if isinstance(response, _Gone):
            return await self.practitioners()
        return self._model(response, PractitionersOut)

    async def revoke(self, rpps: str) -> PractitionersOut:
        return await self._delete_link(f"/record/authorisations/{_segment(rpps, 'rpps')}")

    async def block(self, rpps: str) -> PractitionersOut:
        path = f"/record/blocks/{_segment(rpps, 'rpps')}"
        return self._model(await self._change("PUT", path, "practitioners"), PractitionersOut)

    async def unblock(self, rpps: str) -> PractitionersOut:
        return await self._delete_link(f"/record/blocks/{_segment(rpps, 'rpps')}")

    async def designate_attending(
        self, rpps: str, previous_keeps_access: bool = True
    ) -> PractitionersOut:
        """Make ``rpps`` the médecin traitant; the former one keeps ordinary access unless
        ``previous_keeps_access`` is False."""
        body = _request_body(AttendingChange, previous_keeps_access=previous_keeps_access)
        path = f"/record/attending/{_segment(rpps, 'rpps')}"
        return self._model(
            await self._change("PUT", path, "practitioners", json=body), PractitionersOut
        )

    async def clear_attending(self, previous_keeps_access: bool = True) -> PractitionersOut:
        """No médecin traitant any more; the former one keeps ordinary access unless
        ``previous_keeps_access`` is False."""
        body = _request_body(AttendingChange, previous_keeps_access=previous_keeps_access)
        response = await self._change("DELETE", "/record/attending", "practitioners", json=body)
        return self._model(response, PractitionersOut)

    # --- trace, oppositions, life of the record ----------------------------------------

    async def trace(
        self,
        limit: int = 50,
        cursor: str | None = None,
        actor: str | None = None,
        mode: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> TracePage:
        return await self._page(
            "/record/trace",
            TracePage,
            cursor,
            limit=limit,
            actor=actor or None,
            mode=mode,
            since=since,
            until=until,
        )

    async def oppositions(self) -> Oppositions:
        return await self._get_tagged("/record/oppositions", Oppositions, "oppositions")

    # --- the trace as a verifiable log (checked by dmptui.trace_check) -------------------

    async def ledger_key(self) -> LedgerKeyOut:
        """The host's public key for trace checkpoints (no login needed)."""
        return self._model(await self._send("GET", "/ledger/key"), LedgerKeyOut)

    async def trace_checkpoint(self) -> CheckpointOut:
        return await self._get("/record/trace/checkpoint", CheckpointOut)

    async def trace_inclusion(self, size: int, seqs: list[int]) -> list[InclusionProofOut]:
        """Inclusion proofs of entries ``seqs`` (at most ``MAX_PROOF_SEQS``) in the tree of
        ``size`` entries. An entry the host cannot prove is left out of the answer."""
        params: Any = [("size", str(size))] + [("seq", str(q)) for q in seqs]
        response = await self._call("GET", "/record/trace/proof/inclusion", params=params)
        return self._model(response, _InclusionList).root

    async def trace_consistency(self, first: int, second: int) -> ConsistencyProofOut:
        return await self._get(
            "/record/trace/proof/consistency", ConsistencyProofOut, first=first, second=second
        )

    async def set_oppositions(self, break_glass: bool, regulation: bool) -> Oppositions:
        """Needs a fresh step-up."""
        body = _request_body(Oppositions, break_glass=break_glass, regulation=regulation)
        response = await self._change("PUT", "/record/oppositions", "oppositions", json=body)
        return self._model(response, Oppositions)

    async def close_record(self) -> LifecycleDone:
        """Needs a fresh step-up. The host ends every session of the record: the tokens are
        dropped here too."""
        done = self._model(await self._change("POST", "/record/close", "status"), LifecycleDone)
        self._clear_tokens()
        return done

    async def reactivate_record(self) -> LifecycleDone:
        """Needs a fresh step-up (a login on the closed record gives one)."""
        return self._model(
            await self._change("POST", "/record/reactivate", "status"), LifecycleDone
        )

    async def erase_record(self) -> LifecycleDone:
        """Needs a fresh step-up. Definitive; the tokens are dropped."""
        done = self._model(await self._change("POST", "/record/erase", "status"), LifecycleDone)
        self._clear_tokens()
        return done

    # --- personal space, notifications -------------------------------------------------

    async def notes(self) -> NotesOut:
        return await self._get_tagged("/record/notes", NotesOut, "notes")

    async def save_notes(self, text: str) -> NotesOut:
        body = _request_body(NotesIn, text=text)
        return self._model(await self._change("PUT", "/record/notes", "notes", json=body), NotesOut)

    async def notifications(
        self, limit: int = 50, cursor: str | None = None, unread: bool = False
    ) -> NotificationPage:
        return await self._page(
            "/record/notifications", NotificationPage, cursor, limit=limit, unread=unread
        )

    async def mark_notifications_read(self) -> None:
        await self._change("POST", "/record/notifications/read", None)

"""schemathesis against the real host's /openapi.json, in process (ASGI), on a real SQLite file.

Every check schemathesis has, 200 examples per operation (positive and negative data), then its
stateful mode. Authentication: a patient session and a practitioner credential, minted once in a
template database on a fixed clock (the clock never moves, so the session never idles out and
its step-up stays fresh; no login, so the login throttle is never in the way and stays as
strict as it is). The database file is restored from the template before every example (a file
copy: the examples cannot depend on one another, and an erased record comes back).

Targeted strategies are mixed in where a JSON Schema says too little (cursors, path ids), and
every string of every request body is given a lone surrogate (below).

Measured: ``uv run pytest tests/test_fuzz_api.py -q``: 37 tests, 3 min 36 s on a loaded
2-core machine with the database on tmpfs (7 min 17 s on disk). With the targeted strategies
and the surrogate tests, ``uv run pytest -n 0 tests/test_fuzz_api.py -q``: 52 tests, 3 min 31 s
of CPU (21 min of wall time on a 2-core machine shared with seven other test runs).
``DMPTUI_FUZZ_EXAMPLES=10`` makes a quick local run."""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hostkit import Clock, checkpoint
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core import NOT_SET
from schemathesis.core.parameters import ParameterLocation

from dmptui.host import auth, crypto, support_desk
from dmptui.host.app import PATIENT_AUTH, SUPPORT_AUTH, create_app, security_of
from dmptui.host.context import Host
from dmptui.host.db import AuthSession, Record, migrate
from dmptui.host.seed import seed_demo
from dmptui.schema import PRACTITIONER_HEADER, SUPPORT_HEADER

EXAMPLES = int(os.environ.get("DMPTUI_FUZZ_EXAMPLES", "200"))
FIXED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

load_all_checks()
ALL_CHECKS = CHECKS.get_all()


class Fuzzed:
    """The host app on a SQLite file restored from a template before each example."""

    def __init__(self, root: Path) -> None:
        self.template = root / "template.sqlite3"
        self.path = root / "host.sqlite3"
        url = f"sqlite:///{self.template}"
        migrate(url)
        crypto.ensure_master_key(root)  # the app below reads the same data dir, same key
        host = Host(url, root, clock=Clock(FIXED))
        creds = seed_demo(host)
        with host.tx() as s:
            record = s.query(Record).one()
            self.token = auth.new_token()
            s.add(
                AuthSession(
                    record_id=record.id,
                    access_hash=auth.digest(self.token),
                    refresh_hash=auth.digest(auth.new_token()),
                    created_at=FIXED,
                    last_seen_at=FIXED,
                    device="fuzz",
                    fresh_until=FIXED + auth.FRESH_FOR,
                )
            )
            self.support = support_desk.add(s, "Agent Fuzz", FIXED)[1]
        host.engine.dispose()
        checkpoint(self.template)
        self.ins = creds["patient"]["ins"]
        attending = next(p for p in creds["practitioners"] if p["role"] == "attending")
        self.credential = attending["credential"]
        shutil.copyfile(self.template, self.path)
        self.app = create_app(f"sqlite:///{self.path}", root, clock=Clock(FIXED))
        self.resets = 0

    def reset(self) -> None:
        self.app.state.host.engine.dispose()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template, self.path)
        self.resets += 1

    def headers_for(self, path: str) -> dict[str, str]:
        scheme = security_of(path)
        if scheme is None:
            return {}
        if scheme == PATIENT_AUTH:
            return {"Authorization": f"Bearer {self.token}"}
        if scheme == SUPPORT_AUTH:
            return {SUPPORT_HEADER: self.support}
        return {PRACTITIONER_HEADER: self.credential}


# Built at collection: schemathesis's fixture-based loader does not work with pytest 9 (it sets
# ``request.node._nodeid``), so the schema is loaded from the app here.
# In memory when the system has a tmpfs (/dev/shm): the host's SQLite runs with synchronous=FULL,
# and thousands of fsyncs on a disk would be most of the run's time.
_SHM = Path("/dev/shm")
_ROOT = Path(
    tempfile.mkdtemp(
        prefix="dmptui-fuzz-", dir=_SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
    )
)
atexit.register(shutil.rmtree, _ROOT, True)  # also when the tests here are deselected
FUZZED = Fuzzed(_ROOT)


# Session-wide: under pytest-xdist a worker may run this module's tests in several stretches.
@pytest.fixture(scope="session")
def fuzzed() -> Iterator[Fuzzed]:
    yield FUZZED
    FUZZED.app.state.host.engine.dispose()
    shutil.rmtree(_ROOT, ignore_errors=True)


def _config() -> schemathesis.config.SchemathesisConfig:
    return schemathesis.config.SchemathesisConfig.from_dict(
        {
            "seed": 20260302,
            "generation": {"mode": "all", "max-examples": EXAMPLES, "deterministic": True},
            # Some inputs are valid in form and still invalid in meaning, which no JSON Schema
            # says: an INS or RPPS whose control key is wrong, a cursor this host did not give,
            # an unknown login challenge. Those are refused with 422 (field + reason). An
            # If-Match of the right form that is not the resource's current ETag is stale: 412.
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [
                        "2xx",
                        "401",
                        "403",
                        "404",
                        "409",
                        "410",
                        "412",
                        "422",
                        "429",
                    ]
                }
            },
        }
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", FUZZED.app, config=_config())


# --- targeted strategies ---------------------------------------------------------------------
# What a JSON Schema cannot tell schemathesis: a cursor is base64 of JSON the host wrote, so
# the dangerous ones are well-formed base64 of JSON that is malformed or of the wrong shape;
# path ids go into queries, so the dangerous ones hold NUL and other control characters.
# Mixed into the generated cases (in about half of the cases of the operations that have them).

_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**62, max_value=2**200)
    | st.floats()
    | st.text(max_size=8)
    | st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["abc", "demo01\x00", "", {}, [1]]),
    st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat),
)
_CURSOR_BYTES = st.one_of(
    # the arity of a cursor (one or two parts), each part of any kind
    st.lists(_SCALARS, min_size=1, max_size=2).map(lambda v: json.dumps(v).encode()),
    st.lists(_JSON_VALUES, max_size=3).map(lambda v: json.dumps(v).encode()),
    _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    # malformed JSON: cut short, or with a NUL, a lone surrogate escape, bytes that are no UTF-8
    st.lists(_JSON_VALUES, min_size=1, max_size=3).map(lambda v: json.dumps(v).encode()[:-1]),
    st.sampled_from(
        [b'["\\ud800"]', b'["\\u0000", "x"]', b'["2026-03-02T09:30:00", "\\u0000"]', b"\xff[1]"]
    ),
    st.binary(max_size=24),
)
TARGETED_CURSOR = st.one_of(
    _CURSOR_BYTES.map(lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")),
    st.text(st.characters(max_codepoint=0x7F), max_size=12),  # not base64 at all (NUL too)
)
_CONTROL = st.characters(max_codepoint=0x1F) | st.sampled_from(["\x7f", "\x85", "\x9b"])
TARGETED_ID = st.one_of(
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=6), _CONTROL, st.text(max_size=6)),
    st.sampled_from(["\x00", "a" * 300, "%00", "..", "\U0001f600", "\ufffd"]),
)
_PATH_IDS = ("doc_id", "ins", "rpps", "session_id", "device_id")


def _sometimes(value: dict[str, Any], targeted: dict[str, st.SearchStrategy]) -> st.SearchStrategy:
    replaced = st.fixed_dictionaries(targeted).map(lambda new: {**value, **new})
    return st.one_of(st.just(value), replaced)


@schema.hook
def flatmap_query(context: Any, query: dict[str, Any] | None) -> st.SearchStrategy:
    if context.operation is None or "cursor" not in context.operation.query:
        return st.just(query)
    return _sometimes(query or {}, {"cursor": TARGETED_CURSOR})


@schema.hook
def flatmap_path_parameters(context: Any, params: dict[str, Any] | None) -> st.SearchStrategy:
    names = [n for n in _PATH_IDS if params and n in params]
    if not names:
        return st.just(params)
    return _sometimes(params or {}, {names[-1]: TARGETED_ID})


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(case: Any, fuzzed: Fuzzed) -> None:
    fuzzed.reset()
    headers = fuzzed.headers_for(case.path)
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER):
        # schemathesis negated the headers (the credential is a required header in its model):
        # send them as generated, without adding a valid credential back.
        headers = {}
    case.call_and_validate(headers=headers, checks=ALL_CHECKS)


def test_stateful(fuzzed: Fuzzed) -> None:
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            fuzzed.reset()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": fuzzed.headers_for(case.path)}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(
                response,
                checks=ALL_CHECKS,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


# --- lone surrogates in bodies -----------------------------------------------------------------
# JSON can carry a lone UTF-16 surrogate (the escape \ud800), which is no character: every
# string of every request body, one at a time, given one. Not through schemathesis: its HTTP
# client writes JSON as UTF-8, which has no form for it.

_SURROGATED = st.builds(
    lambda a, c, b: a + c + b,
    st.text(max_size=4),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
    st.text(max_size=4),
)
_WITH_BODY = [
    (result.ok().path, result.ok().method.upper())
    for result in schema.get_all_operations()
    if result.ok().body
]


def _string_places(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, str):
        return [at]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _string_places(v, (*at, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _string_places(v, (*at, i))]
    return []


def _put(value: Any, at: tuple[Any, ...], new: str) -> Any:
    if not at:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[at[0]] = _put(value[at[0]], at[1:], new)
    return copy


# Bodies the host accepts, so that the surrogate reaches the code behind the checks of form
# (generated bodies often stop earlier: both contents given, or neither).
_ACCEPTED = {
    ("/v1/ps/records/{ins}/documents", "POST"): {
        "type": "11488-4",
        "title": "Compte rendu",
        "content": "Texte du compte rendu.",
        "content_type": "text/plain",
        "care_date": "2026-03-01",
    },
    ("/v1/record/notes", "PUT"): {"text": "Allergie : pénicilline."},
    ("/v1/auth/login", "POST"): {"ins": FUZZED.ins, "password": "a password 12"},
    ("/v1/auth/activate", "POST"): {
        "challenge": "a-challenge",
        "activation_code": "ABCD-EFGH-JKLM",
    },
    ("/v1/ps/records", "POST"): {
        "ins": "185053306304523",
        "name": "Léa Dubois",
        "phone": "06 11 22 33 44",
        "email": "lea.dubois@example.org",
    },
    ("/v1/auth/reset/start", "POST"): {"ins": FUZZED.ins},
    ("/v1/auth/reenrol/start", "POST"): {
        "ins": FUZZED.ins,
        "password": "a password 12",
        "channel": "email",
    },
}


@pytest.mark.parametrize(("path", "method"), _WITH_BODY)
@settings(
    max_examples=max(EXAMPLES // 20, 3),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_a_lone_surrogate_in_any_body_string_is_an_input_error(
    fuzzed: Fuzzed, path: str, method: str, data: st.DataObject
) -> None:
    fixed = {"ins": fuzzed.ins} if "{ins}" in path else None  # the record that is there
    case = data.draw(schema[path][method].as_strategy(path_parameters=fixed))
    body = case.body if isinstance(case.body, dict) else {}
    bad = data.draw(_SURROGATED)
    # Each string of the body in turn (then an unknown field whose very name is not text).
    variants = [{**body, bad: "x"}]
    for good in (body, _ACCEPTED.get((path, method), {})):
        variants += [_put(good, at, bad) for at in _string_places(good)]
    headers = {
        **{k: v for k, v in (case.headers or {}).items() if k.lower() != "content-type"},
        **fuzzed.headers_for(path),
        "content-type": "application/json",
    }
    case.body = NOT_SET  # sent as written here, not by schemathesis's serialiser
    for variant in variants:
        fuzzed.reset()
        r = case.call(headers=headers, data=json.dumps(variant).encode("ascii"))  # JSON escapes
        assert r.status_code < 500, (variant, r.status_code, r.text)
        if r.status_code == 422:
            answer = r.json()
            assert answer["error"] == "invalid_input" and answer["field"], answer

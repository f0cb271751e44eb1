"""Warm handler latency in-process: against moto (mock_aws) and with botocore's Stubber.

Each round times `n` calls and keeps the mean per call; rows report the median, min and max of
the rounds, with the bare pyjwt work the handler does timed in the same rounds as its baseline.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import jwt
from botocore.stub import Stubber

from bench.report import Row
from infra.events import http_api_event
from infra.provision import create_key_rings, create_table
from infra.template import Template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

    from token_service.config import Settings

REGION = "us-east-1"
STAGE = "bench"
TABLE_NAME = "sessions-bench"
ROUNDS = 7
USER = "64c4bench"
CALLS = {"validate": 1000, "issue": 120, "refresh": 120, "revoke": 120}
STUBBED_CALLS = {"validate": 1000, "issue": 400, "refresh": 400, "revoke": 400}
Event = dict[str, Any]


def _template() -> Template:
    return Template.load(parameters={"Stage": STAGE}, resource_names={"SessionsTable": TABLE_NAME})


def _prepare_process(environment: Mapping[str, str]) -> None:
    """The functions' environment and dummy credentials; no endpoint override (it defeats mock_aws)."""
    for name in list(os.environ):
        if name.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE")):
            del os.environ[name]
    os.environ.update(environment)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "AWS_DEFAULT_REGION": REGION,
        }
    )


def _quiet_logs() -> None:
    """Log lines are still formatted (a real cost) but written to /dev/null, not over the table."""
    from token_service.observability import logger  # noqa: PLC0415 - after the environment is set

    sink = Path(os.devnull).open("w")  # noqa: SIM115 - lives as long as the process
    for handler in logger.handlers:
        if hasattr(handler, "setStream"):
            handler.setStream(sink)


def cookie_value(cookies: Sequence[str], name: str) -> str:
    prefix = name + "="
    for cookie in cookies:
        if cookie.startswith(prefix):
            return cookie[len(prefix) :].split(";", 1)[0]
    raise KeyError(name)


@dataclass
class CallCounter:
    """AWS operations seen through the clients' 'before-call' hooks."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append(f"{model.service_model.service_name}:{model.name}")

    def attach(self, *clients: Any) -> None:
        for client in clients:
            client.meta.events.register("before-call", self)


@dataclass
class Handlers:
    validate: Any
    issue: Any
    refresh: Any
    revoke: Any


def _handlers() -> Handlers:
    from token_service.handlers import issue, refresh, revoke, validate  # noqa: PLC0415

    return Handlers(validate.handler, issue.handler, refresh.handler, revoke.handler)


@dataclass
class Dependencies:
    validator: Any
    sessions: Any
    revocation: Any


def _dependencies(settings: Settings, source: Any, dynamodb: DynamoDBClient) -> Dependencies:
    from token_service.keys import KeyRingStore  # noqa: PLC0415
    from token_service.service import LoginSessions, SessionRevocation  # noqa: PLC0415
    from token_service.sessions import SessionStore  # noqa: PLC0415
    from token_service.validation import AccessValidator  # noqa: PLC0415

    both = [settings.access_keys_parameter, settings.refresh_keys_parameter]
    store = SessionStore(dynamodb, TABLE_NAME)
    return Dependencies(
        validator=AccessValidator(settings, KeyRingStore(source, [settings.access_keys_parameter], 300)),
        sessions=LoginSessions(settings, KeyRingStore(source, both, 300), store),
        revocation=SessionRevocation(settings, KeyRingStore(source, [settings.refresh_keys_parameter], 300), store),
    )


class StaticSource:
    """Key rings already read: the stubbed runs measure DynamoDB's client side only."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        return {name: self._values[name] for name in names}


@dataclass
class SentRequests:
    """The parameters of the last request of each DynamoDB operation, as the handlers made it."""

    params: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.params[model.name] = dict(params)


def _time_round(call: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - started) / n * 1e6


@dataclass
class Timings:
    target: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)


def _interleaved(
    target: Callable[[], object], baseline: Callable[[], object], n: int, prime: Callable[[int], None] | None
) -> Timings:
    """`prime(k)` queues the stubbed answers for the next k calls, outside the timed loop."""
    timings = Timings()
    if prime is not None:
        prime(1)
    target()  # warm: caches, first-call costs
    baseline()
    for _ in range(ROUNDS):
        if prime is not None:
            prime(n)
        timings.target.append(_time_round(target, n))
        timings.baseline.append(_time_round(baseline, n))
    return timings


class Scenario:
    """The four handlers over one set of dependencies, with chained refresh tokens."""

    def __init__(self, handlers: Handlers, dependencies: Dependencies, settings: Settings, rings: dict[str, str]):
        from token_service.keys import parse_key_ring  # noqa: PLC0415

        self.failures: list[str] = []
        self.handlers = handlers
        self.deps = dependencies
        self.settings = settings
        self.access_ring = parse_key_ring(rings[settings.access_keys_parameter])
        self.refresh_ring = parse_key_ring(rings[settings.refresh_keys_parameter])
        self.issue_event = http_api_event(
            "POST",
            "/tokens",
            body=json.dumps({"id": USER}).encode(),
            headers={"content-type": "application/json", "user-agent": "bench/1.0"},
            source_ip="203.0.113.7",
        )
        self.refresh_event = http_api_event("POST", "/tokens/refresh", headers={"user-agent": "bench/1.0"})
        self.revoke_event = http_api_event("POST", "/tokens/revoke", headers={"user-agent": "bench/1.0"})
        first = self.issue()
        self.access_token = cookie_value(first["cookies"], "accessToken")
        self.refresh_token = cookie_value(first["cookies"], "refreshToken")
        self.validate_event = http_api_event(
            "GET", "/tokens/validate", cookies=[f"accessToken={self.access_token}"], headers={"user-agent": "bench"}
        )
        # Revocation ends its own session, never the one the refresh chain rotates.
        self.revoke_token = cookie_value(self.issue()["cookies"], "refreshToken")

    def _checked(self, name: str, response: dict[str, Any]) -> dict[str, Any]:
        if response["statusCode"] != 200:
            self.failures.append(f"{name} {response['statusCode']} {response.get('body')}")
        return response

    def issue(self) -> dict[str, Any]:
        return self._checked("issue", self.handlers.issue.respond(self.issue_event, self.deps.sessions))

    def validate(self) -> dict[str, Any]:
        return self._checked("validate", self.handlers.validate.respond(self.validate_event, self.deps.validator))

    def refresh(self) -> dict[str, Any]:
        event = {**self.refresh_event, "cookies": [f"refreshToken={self.refresh_token}"]}
        response = self._checked("refresh", self.handlers.refresh.respond(event, self.deps.sessions))
        if response["statusCode"] == 200:
            self.refresh_token = cookie_value(response["cookies"], "refreshToken")
        return response

    def revoke(self) -> dict[str, Any]:
        event = {**self.revoke_event, "cookies": [f"refreshToken={self.revoke_token}"]}
        return self._checked("revoke", self.handlers.revoke.respond(event, self.deps.revocation))

    # -- the bare pyjwt work of each handler -------------------------------------------------

    def bare_validate(self) -> Callable[[], object]:
        token, key = self.access_token, self.access_ring.signing_key
        issuer, audience = self.settings.issuer, self.settings.audience
        return lambda: jwt.decode(token, key, algorithms=["HS256"], audience=audience, issuer=issuer)

    def _claims(self, use: str) -> dict[str, object]:
        now = int(time.time())
        claims: dict[str, object] = {
            "id": USER,
            "sub": USER,
            "iat": now,
            "exp": now + 600,
            "jti": "x" * 22,
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "token_use": use,
        }
        if use == "refresh":
            claims["sid"] = "s" * 22
        return claims

    def _bare_encodes(self) -> Callable[[], object]:
        access, refresh = self._claims("access"), self._claims("refresh")
        access_key, access_kid = self.access_ring.signing_key, {"kid": self.access_ring.current_kid}
        refresh_key, refresh_kid = self.refresh_ring.signing_key, {"kid": self.refresh_ring.current_kid}

        def encodes() -> object:
            jwt.encode(refresh, refresh_key, algorithm="HS256", headers=refresh_kid)
            return jwt.encode(access, access_key, algorithm="HS256", headers=access_kid)

        return encodes

    def bare_issue(self) -> Callable[[], object]:
        return self._bare_encodes()

    def bare_revoke(self) -> Callable[[], object]:
        return self._bare_decode_refresh()

    def bare_refresh(self) -> Callable[[], object]:
        encodes = self._bare_encodes()
        decode = self._bare_decode_refresh()

        def work() -> object:
            decode()
            return encodes()

        return work

    def _bare_decode_refresh(self) -> Callable[[], object]:
        token, key = self.refresh_token, self.refresh_ring.signing_key
        issuer, audience = self.settings.issuer, self.settings.audience
        required = ["id", "sub", "iat", "exp", "jti", "iss", "aud", "token_use", "sid"]

        return lambda: jwt.decode(
            token, key, algorithms=["HS256"], audience=audience, issuer=issuer, leeway=5, options={"require": required}
        )


def _stubbed(handlers: Handlers, settings: Settings, rings: dict[str, str]) -> tuple[dict[str, Timings], list[str]]:
    """Each handler with DynamoDB answered by botocore's Stubber, and each DynamoDB request alone.

    The "alone" timings replay the very request a handler made, straight on the client: what
    botocore itself costs of the handler's time (as `target`; those rows have no baseline).
    """
    from token_service.aws import CLIENT_CONFIG  # noqa: PLC0415

    client = boto3.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG)
    sent = SentRequests()
    client.meta.events.register("provide-client-params.dynamodb.*", sent)
    stubber = Stubber(client)
    stubber.activate()

    def queue(method: str, response: dict[str, Any]) -> Callable[[int], None]:
        def fill(count: int) -> None:
            for _ in range(count):
                stubber.add_response(method, response)

        return fill

    queue("put_item", {})(2)  # the scenario's own first issue, and the revoke session's
    scenario = Scenario(handlers, _dependencies(settings, StaticSource(rings), client), settings, rings)
    rotated = {"Attributes": _session_item(int(time.time()))}
    put, update = queue("put_item", {}), queue("update_item", rotated)
    n = STUBBED_CALLS
    timings = {
        "validate": _interleaved(scenario.validate, scenario.bare_validate(), n["validate"], None),
        "issue": _interleaved(scenario.issue, scenario.bare_issue(), n["issue"], put),
        "refresh": _interleaved(scenario.refresh, scenario.bare_refresh(), n["refresh"], update),
    }
    # As issue and refresh sent them, before revoke sends an UpdateItem of its own.
    put_alone, update_alone = sent.params["PutItem"], sent.params["UpdateItem"]
    timings["revoke"] = _interleaved(scenario.revoke, scenario.bare_revoke(), n["revoke"], queue("update_item", {}))
    timings["PutItem"] = _interleaved(lambda: client.put_item(**put_alone), lambda: None, n["issue"], put)
    timings["UpdateItem"] = _interleaved(lambda: client.update_item(**update_alone), lambda: None, n["refresh"], update)
    stubber.assert_no_pending_responses()
    return timings, scenario.failures


@contextmanager
def _mocked() -> Iterator[None]:
    from aws_lambda_powertools.utilities import parameters  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    parameters.clear_caches()  # type: ignore[no-untyped-call]
    with mock_aws():
        yield
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def _read_rings(ssm: SSMClient, settings: Settings) -> dict[str, str]:
    names = [settings.access_keys_parameter, settings.refresh_keys_parameter]
    answer = ssm.get_parameters(Names=names, WithDecryption=True)
    return {parameter["Name"]: parameter["Value"] for parameter in answer["Parameters"]}


def _session_item(now: int) -> dict[str, Any]:
    return {
        "sessionId": {"S": "Q2hhbmdlZCBzZXNzaW9uIGlk"},
        "userId": {"S": USER},
        "currentTokenId": {"S": "bmV3IHRva2VuIGlkIGhlcmU"},
        "previousTokenId": {"S": "b2xkIHRva2VuIGlkIGhlcmU"},
        "status": {"S": "active"},
        "ip": {"S": "203.0.113.7"},
        "userAgent": {"S": "bench/1.0"},
        "createdAt": {"N": str(now)},
        "rotatedAt": {"N": str(now)},
        "expiresAt": {"N": str(now + 86400)},
    }


def run() -> list[Row]:
    from token_service.aws import CLIENT_CONFIG  # noqa: PLC0415 - after the environment is set
    from token_service.config import Settings  # noqa: PLC0415

    template = _template()
    environment = template.function_environment("IssueFunction")
    _prepare_process(environment)
    settings = Settings.from_environment(environment)
    _quiet_logs()
    handlers = _handlers()
    rows: list[Row] = []

    # (a) moto in-process
    with _mocked():
        ssm = boto3.client("ssm", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION, config=CLIENT_CONFIG)
        create_table(dynamodb, template, TABLE_NAME)
        create_key_rings(ssm, STAGE)
        rings = _read_rings(ssm, settings)
        from token_service.keys import SsmParameterSource  # noqa: PLC0415

        counter = CallCounter()
        counter.attach(ssm, dynamodb)
        scenario = Scenario(handlers, _dependencies(settings, SsmParameterSource(ssm), dynamodb), settings, rings)
        moto = {
            "validate": _interleaved(scenario.validate, scenario.bare_validate(), CALLS["validate"], None),
            "issue": _interleaved(scenario.issue, scenario.bare_issue(), CALLS["issue"], None),
            "refresh": _interleaved(scenario.refresh, scenario.bare_refresh(), CALLS["refresh"], None),
            "revoke": _interleaved(scenario.revoke, scenario.bare_revoke(), CALLS["revoke"], None),
        }
        calls: dict[str, list[float]] = {}
        names: dict[str, str] = {}
        for name, call in (
            ("validate", scenario.validate),
            ("issue", scenario.issue),
            ("refresh", scenario.refresh),
            ("revoke", scenario.revoke),
        ):
            per_request = []
            for _ in range(20):
                counter.calls.clear()
                call()
                per_request.append(float(len(counter.calls)))
            calls[name] = per_request
            names[name] = ",".join(sorted(set(counter.calls))) or "none"
        moto_failures = list(scenario.failures)

    baselines = {
        "validate": "jwt.decode",
        "issue": "2x jwt.encode",
        "refresh": "decode+2x encode",
        "revoke": "jwt.decode",
    }
    for name, timings in moto.items():
        rows.append(
            Row(
                "warm moto",
                f"{name} handler.respond",
                "µs",
                timings.target,
                timings.baseline,
                baselines[name],
                target="max:1.3" if name == "validate" else "",
                note="refresh chained" if name == "refresh" else "",
            )
        )

    # (b) DynamoDB answered by botocore's Stubber, key rings already read
    stubbed, stubbed_failures = _stubbed(handlers, settings, rings)
    for name in ("validate", "issue", "refresh", "revoke"):
        timings = stubbed[name]
        rows.append(
            Row(
                "warm stubbed",
                f"{name} handler.respond",
                "µs",
                timings.target,
                timings.baseline,
                baselines[name],
                target={"validate": "max:1.3", "issue": "max:1.5", "refresh": "max:1.5"}.get(name, ""),
                note="refresh chained" if name == "refresh" else "",
            )
        )
    for operation, note in (("PutItem", "the request issue sends"), ("UpdateItem", "the request refresh sends")):
        samples = stubbed[operation].target
        rows.append(Row("warm stubbed", f"{operation} through botocore alone", "µs", samples, note=note))
    for name, per_request in calls.items():
        rows.append(
            Row(
                "AWS calls",
                f"{name} per warm request",
                "calls",
                per_request,
                target={"validate": "eq:0", "issue": "eq:1", "refresh": "eq:1"}.get(name, ""),
                note=names[name],
            )
        )
    failures = moto_failures + stubbed_failures
    rows.append(
        Row(
            "warm",
            "non-200 answers",
            "count",
            [float(len(failures))],
            target="eq:0",
            note=";".join(sorted(set(failures)))[:80],
        )
    )
    return rows

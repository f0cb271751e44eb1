"""The service as the bench drives it: the real handlers, over dependencies built by the composition root."""

from __future__ import annotations

import json
import pkgutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import boto3

from infra.local.events import authorizer_event, http_api_event
from infra.local.provision import create_key_rings, create_table
from infra.template import Template
from token_service import composition
from token_service.adapters.aws_clients import CLIENT_CONFIG
from token_service.composition import Clients
from token_service.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

STAGE = "bench"
TABLE = "token-service-bench-sessions"
REGION = "us-east-1"
USER = "64c4bench"
HEADERS = {"user-agent": "bench/1.0", "content-type": "application/json"}
AUTHORIZER, TOKEN_ONLY_AUTHORIZER = "authorizer, session checked", "authorizer, token only"
# The authorizer under each value of its template parameter AuthorizerChecksSession, by the name reported.
AUTHORIZER_MODES = {AUTHORIZER: "true", TOKEN_ONLY_AUTHORIZER: "false"}
# Each handler module's dependency, as its entry point builds it.
_BUILDERS: Mapping[str, Callable[[Settings, Clients], object]] = {
    "validate": composition.validator,
    "issue": composition.session_routes,
    "refresh": composition.session_routes,
    "revoke": composition.revoke_route,
    "list_sessions": composition.session_listing,
    "end_session": composition.end_session_route,
    "authorizer": composition.authorizer,
}
_PRESENT_REFRESH_TOKENS = ("refresh", "revoke")
type Event = dict[str, Any]


def bench_template() -> Template:
    return Template.load(parameters={"Stage": STAGE}, resource_names={"SessionsTable": TABLE})


def aws_clients(endpoint_url: str | None = None) -> tuple[SSMClient, DynamoDBClient]:
    """Clients configured as the functions' own, on the given endpoint (None: wherever moto's mock is)."""
    options: dict[str, Any] = {"region_name": REGION, "endpoint_url": endpoint_url, "config": CLIENT_CONFIG}
    options |= {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}  # any do for moto
    return boto3.client("ssm", **options), boto3.client("dynamodb", **options)


def cookie_values(set_cookies: Iterable[str]) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for set_cookie in set_cookies:
        jar.load(set_cookie)
    return {name: morsel.value for name, morsel in jar.items()}


@dataclass(frozen=True, slots=True)
class Target:
    """A function the bench runs: its logical id, its handler, and its environment beyond the template's."""

    function: str
    handler: str
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.split(".")[-2]


class Service:
    """The functions' handlers (every route's but health's, and the authorizer under each of its modes),
    each with the dependency its entry point would build; the table and key rings are created on the
    clients' endpoint first."""

    def __init__(self, template: Template, ssm: SSMClient, dynamodb: DynamoDBClient) -> None:
        create_table(dynamodb, template, TABLE)
        create_key_rings(ssm, STAGE)
        aws = Clients(ssm, dynamodb)
        self.ssm = ssm
        self.template = template
        routes = [route for route in template.routes() if route.function != "HealthFunction"]
        self.routes = {Target(route.function, route.handler).module: route for route in routes}
        self.targets = {name: Target(route.function, route.handler) for name, route in self.routes.items()}
        (authorizer,) = [declared.function for declared in template.authorizers().values() if declared.function]
        handler = str(template.resources[authorizer]["Properties"]["Handler"])
        for name, checks in AUTHORIZER_MODES.items():
            self.targets[name] = Target(authorizer, handler, {"AUTHORIZER_CHECKS_SESSION": checks})
        self.settings = Settings.from_environment(self.environment("issue"))
        self._dependencies = {
            name: _BUILDERS[target.module](Settings.from_environment(self.environment(name)), aws)
            for name, target in self.targets.items()
        }
        self._handlers = {name: pkgutil.resolve_name(target.handler) for name, target in self.targets.items()}

    def environment(self, name: str) -> dict[str, str]:
        """What the function's environment holds in the template, with the target's own settings."""
        target = self.targets[name]
        return self.template.function_environment(target.function) | dict(target.environment)

    def event(self, name: str, token: str = "", user: str = USER) -> Event:
        """`name`'s event: issue's body names `user`; refresh and revoke present the refresh token `token`;
        validate, the authorizer and the sessions routes the access token `token`, the sessions routes
        as the authorizer let it through (end_session ending the token's own session)."""
        module = self.targets[name].module
        if module == "issue":
            route = self.routes[module]
            return http_api_event(route.method, route.path, body=json.dumps({"id": user}).encode(), headers=HEADERS)
        if module in (*_PRESENT_REFRESH_TOKENS, "validate"):
            route = self.routes[module]
            cookie = f"refreshToken={token}" if module in _PRESENT_REFRESH_TOKENS else f"accessToken={token}"
            return http_api_event(route.method, route.path, cookies=[cookie], headers=HEADERS)
        cookie = f"accessToken={token}"
        if module == "authorizer":
            protected = self.routes["list_sessions"]
            request = http_api_event(protected.method, protected.path, cookies=[cookie], headers=HEADERS)
            return authorizer_event(request, [cookie])  # its identity source: the Cookie header
        caller = self.respond(AUTHORIZER, self.event(AUTHORIZER, token))["context"]
        route = self.routes[module]
        parameters = {"sessionId": caller["sessionId"]} if "{sessionId}" in route.path else None
        return http_api_event(
            route.method,
            route.path.replace("{sessionId}", caller["sessionId"]),
            cookies=[cookie],
            headers=HEADERS,
            route_key=f"{route.method} {route.path}",
            path_parameters=parameters,
            authorizer=caller,
        )

    def fresh_event(self, name: str) -> Event:
        """`name`'s event on a new session (issue's: a new login)."""
        module = self.targets[name].module
        if module == "issue":
            return self.event(name)
        access, refresh = self.issue()
        return self.event(name, refresh if module in _PRESENT_REFRESH_TOKENS else access)

    def respond(self, name: str, event: Event) -> dict[str, Any]:
        response: dict[str, Any] = self._handlers[name].respond(event, self._dependencies[name])
        if response.get("statusCode", 200) != 200 or response.get("isAuthorized") is False:
            status = response.get("statusCode", "isAuthorized: false")
            raise RuntimeError(f"{name} answered {status}: {response.get('body')}")
        return response

    def issue(self, user: str = USER) -> tuple[str, str]:
        """(access token, refresh token) of a new session."""
        tokens = cookie_values(self.respond("issue", self.event("issue", user=user))["cookies"])
        return tokens["accessToken"], tokens["refreshToken"]

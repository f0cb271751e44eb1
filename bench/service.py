"""The service as the bench drives it: the real handlers, over dependencies built by the composition root."""

from __future__ import annotations

import json
import pkgutil
from collections.abc import Iterable
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import boto3

from infra.events import http_api_event
from infra.provision import create_key_rings, create_table
from infra.template import Template
from token_service import composition
from token_service.aws import CLIENT_CONFIG
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


class Service:
    """The token routes' handlers (every route but health's), each with the dependency its entry point
    would build; the table and key rings are created on the clients' endpoint first."""

    def __init__(self, template: Template, ssm: SSMClient, dynamodb: DynamoDBClient) -> None:
        create_table(dynamodb, template, TABLE)
        create_key_rings(ssm, STAGE)
        aws = Clients(ssm, dynamodb)
        self.ssm = ssm
        self.settings = Settings.from_environment(template.function_environment("IssueFunction"))
        self.routes = {r.handler.split(".")[-2]: r for r in template.routes() if r.function != "HealthFunction"}
        sessions = composition.session_routes(self.settings, aws)
        self._dependencies = {
            "validate": composition.validator(self.settings, aws),
            "issue": sessions,
            "refresh": sessions,
            "revoke": composition.revoke_route(self.settings, aws),
        }
        self._handlers = {name: pkgutil.resolve_name(route.handler) for name, route in self.routes.items()}

    def event(self, name: str, token: str = "") -> Event:
        """The route's event: issue's body names the user; the others present `token` in their cookie."""
        route = self.routes[name]
        if name == "issue":
            return http_api_event(route.method, route.path, body=json.dumps({"id": USER}).encode(), headers=HEADERS)
        cookie = f"accessToken={token}" if name == "validate" else f"refreshToken={token}"
        return http_api_event(route.method, route.path, cookies=[cookie], headers=HEADERS)

    def respond(self, name: str, event: Event) -> dict[str, Any]:
        response: dict[str, Any] = self._handlers[name].respond(event, self._dependencies[name])
        if response["statusCode"] != 200:
            raise RuntimeError(f"{name} answered {response['statusCode']}: {response.get('body')}")
        return response

    def issue(self) -> tuple[str, str]:
        """(access token, refresh token) of a new session."""
        tokens = cookie_values(self.respond("issue", self.event("issue"))["cookies"])
        return tokens["accessToken"], tokens["refreshToken"]

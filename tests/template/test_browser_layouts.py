"""The deployed layouts for browsers: cookies that follow a base path and a shared domain, CORS, a custom domain."""

from __future__ import annotations

import copy
import dataclasses
import re
from types import SimpleNamespace
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from infra.local.cors import Cors
from infra.template import Template
from tests.support.handler_calls import USER_ID, call
from tests.support.service import Service, build_service
from token_service.config import ConfigurationError, Settings
from token_service.handlers import issue, refresh, revoke

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
SIBLING_LAYOUT = {
    "DomainName": "example.com",
    "ApiSubdomain": "auth",
    "CertificateArn": CERTIFICATE,
    "ShareCookiesWithDomain": "true",
    "AllowedOrigins": "https://app.example.com",
}
ONE_HOST_LAYOUT = {"DomainName": "app.example.com", "CertificateArn": CERTIFICATE, "BasePath": "auth"}


def layout(service: Service, parameters: dict[str, str]) -> Service:
    """The service as the template configures its functions for this layout."""
    template = Template.load(parameters={"Stage": "test", **parameters}, resource_names={"SessionsTable": "t"})
    environment = template.function_environment("IssueFunction")
    settings = Settings.from_environment({**environment, "SESSIONS_TABLE": service.settings.sessions_table})
    return build_service(settings, service.ssm, service.dynamodb)


def test_one_host_with_a_base_path_keeps_host_only_cookies_under_the_path(service: Service) -> None:
    function = layout(service, ONE_HOST_LAYOUT)
    issued = call(issue.handler, function.sessions, "POST", "/tokens", json_body={"id": USER_ID})

    assert re.fullmatch(
        r"accessToken=[^;]+; Path=/auth; Max-Age=600; HttpOnly; Secure; SameSite=Strict", issued.cookie("accessToken")
    )
    assert re.fullmatch(
        r"refreshToken=[^;]+; Path=/auth/tokens; Max-Age=86400; HttpOnly; Secure; SameSite=Strict",
        issued.cookie("refreshToken"),
    )


def test_a_sibling_login_backend_gets_cookies_shared_with_the_parent_domain(service: Service) -> None:
    function = layout(service, SIBLING_LAYOUT)
    issued = call(issue.handler, function.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    cookies = [f"refreshToken={issued.cookie_value('refreshToken')}"]
    refreshed = call(refresh.handler, function.sessions, "POST", "/tokens/refresh", cookies=cookies)
    revoked = call(
        revoke.handler,
        function.revocation,
        "POST",
        "/tokens/revoke",
        cookies=[f"refreshToken={refreshed.cookie_value('refreshToken')}"],
    )

    for answer in (issued, refreshed):
        assert "; Path=/; Domain=example.com; " in answer.cookie("accessToken")
        assert "; Path=/tokens; Domain=example.com; " in answer.cookie("refreshToken")
    assert list(revoked.cookies) == [
        "accessToken=; Path=/; Domain=example.com; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
        "refreshToken=; Path=/tokens; Domain=example.com; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("COOKIE_PATH_PREFIX", "auth"),
        ("COOKIE_PATH_PREFIX", "/a;b"),
        ("COOKIE_PATH_PREFIX", "/a/"),
        ("COOKIE_DOMAIN", "Example.com; x"),
    ],
)
def test_a_malformed_cookie_setting_is_a_configuration_error(
    settings: Settings, template: Template, name: str, value: str
) -> None:
    environment = {**template.function_environment("IssueFunction"), name: value}
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_environment(environment)


def test_without_a_layout_the_cookies_are_host_only_at_the_root(settings: Settings) -> None:
    assert (settings.cookie_path_prefix, settings.cookie_domain) == ("", None)


def resources(parameters: dict[str, str]) -> dict[str, Any]:
    sam = copy.deepcopy(dict(Template.load().document))
    sam["Globals"]["Function"]["CodeUri"] = "s3://bucket/functions.zip"
    transformed: dict[str, Any] = transform(sam, parameters, SimpleNamespace(load=dict))["Resources"]
    return transformed


@pytest.mark.parametrize("parameters", [{}, SIBLING_LAYOUT, ONE_HOST_LAYOUT], ids=["none", "sibling", "one-host"])
def test_the_custom_domain_and_its_mapping_follow_the_parameters(parameters: dict[str, str]) -> None:
    template = Template.load(parameters=parameters, resource_names={"SessionsTable": "t", "ApiDomain": "domain"})
    transformed = resources(parameters)
    condition = template.condition("HasCustomDomain")

    assert condition == bool(parameters)
    domain = template.resolve(transformed["ApiDomain"]["Properties"])
    mapping = template.resolve(transformed["ApiMapping"]["Properties"])
    assert transformed["ApiDomain"]["Condition"] == transformed["ApiMapping"]["Condition"] == "HasCustomDomain"
    assert mapping["Stage"] == {"Ref": "HttpApiApiGatewayDefaultStage"}
    if parameters == SIBLING_LAYOUT:
        assert domain["DomainName"] == "auth.example.com"
        assert "ApiMappingKey" not in mapping
    if parameters == ONE_HOST_LAYOUT:
        assert domain["DomainName"] == "app.example.com"
        assert mapping["ApiMappingKey"] == "auth"
    assert domain["DomainNameConfigurations"][0]["SecurityPolicy"] == "TLS_1_2"


def test_cors_is_granted_to_the_listed_origins_only_and_never_to_any() -> None:
    listed = Template.load(
        parameters={"AllowedOrigins": "https://a.example,http://localhost:5173"}, resource_names={"SessionsTable": "t"}
    )
    cors = Cors.of(listed)

    assert cors is not None
    assert cors.origins == {"https://a.example", "http://localhost:5173"}
    assert cors.credentials is True
    assert Cors.of(Template.load(resource_names={"SessionsTable": "t"})) is None
    body = resources({"AllowedOrigins": "https://a.example"})["HttpApi"]["Properties"]["Body"]
    assert body["x-amazon-apigateway-cors"]["Fn::If"][0] == "HasAllowedOrigins"


def test_cors_lets_a_listed_origin_call_every_method_the_api_routes() -> None:
    parameters = {"AllowedOrigins": "https://a.example"}
    body = resources(parameters)["HttpApi"]["Properties"]["Body"]
    cors = Template.load(parameters=parameters).resolve(body["x-amazon-apigateway-cors"])
    routed = {method.upper() for methods in body["paths"].values() for method in methods}

    assert "DELETE" in routed  # ending a session
    assert set(cors["allowMethods"]) == routed


PATTERNS = {
    "AllowedOrigins": (
        ["", "https://a.example", "https://a.example,http://localhost:3000"],
        ["*", "https://a.example,*", "https://a.example/", "a.example"],
    ),
    "BasePath": (["", "auth", "v1/auth", "a.b~c-d_e"], ["/auth", "auth/", "a b", "a;b", "a,b", "ä"]),
    "DomainName": (
        ["", "example.com", "auth.example.co.uk"],
        ["Example.com", "example", "-x.example.com", "example.com."],
    ),
    "ApiSubdomain": (["", "auth", "login-2"], ["auth.x", "-auth", "AUTH"]),
}


@pytest.mark.parametrize("parameter", sorted(PATTERNS))
def test_free_text_layout_parameters_are_refused_at_deploy_time_unless_well_formed(parameter: str) -> None:
    pattern = Template.load().document["Parameters"][parameter]["AllowedPattern"]
    good, bad = PATTERNS[parameter]
    assert [value for value in good if not re.fullmatch(pattern, value)] == []
    assert [value for value in bad if re.fullmatch(pattern, value)] == []


def test_inconsistent_layouts_fail_at_deploy_time_with_a_message() -> None:
    rules = Template.load().document["Rules"]
    assert rules["CustomDomainNeedsACertificate"]["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]
    }
    needs_domain = {
        assertion["Assert"]["Fn::Equals"][0]["Ref"] for assertion in rules["DomainSettingsNeedADomain"]["Assertions"]
    }
    assert needs_domain == {"ApiSubdomain", "BasePath", "ShareCookiesWithDomain"}
    assert all(assertion["AssertDescription"] for rule in rules.values() for assertion in rule["Assertions"])


def test_the_functions_learn_the_base_path_and_the_shared_domain_from_the_template() -> None:
    sibling = Template.load(parameters=SIBLING_LAYOUT, resource_names={"SessionsTable": "t"})
    one_host = Template.load(parameters=ONE_HOST_LAYOUT, resource_names={"SessionsTable": "t"})
    environments = [template.function_environment("RevokeFunction") for template in (sibling, one_host)]

    assert [(e["COOKIE_PATH_PREFIX"], e["COOKIE_DOMAIN"]) for e in environments] == [("", "example.com"), ("/auth", "")]


def test_service_settings_carry_the_layout(service: Service) -> None:
    function = layout(service, ONE_HOST_LAYOUT)
    assert dataclasses.astuple(function.sessions.cookies) == (True, "/auth", None)

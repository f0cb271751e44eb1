"""template.yaml as an operator deploys it: the SAM transform under every switch that changes what is granted.

Each combination of the switches (tracing, the extension and Powertools layers, a customer managed
key, an alarms topic, the issue route's authorization, the authorizer's session check) is transformed
by aws-sam-translator, as CloudFormation does, and read back: IAM (managed policies included),
layers, alarms, log groups, routes; the authorizer under each token source and cache time.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from samtranslator.translator.transform import transform

from infra.local.sam_local import resolve_for_sam_local
from infra.template import ROOT, Template
from token_service.adapters.session_table import NEWEST_FIRST_INDEX

FUNCTIONS = (
    "HealthFunction",
    "ValidateFunction",
    "IssueFunction",
    "RefreshFunction",
    "RevokeFunction",
    "TokenAuthorizerFunction",
    "ListSessionsFunction",
    "EndSessionFunction",
)
NO_VALUE = {"Ref": "AWS::NoValue"}
EXTENSION = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:17"
POWERTOOLS = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:18"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:us-east-1:123456789012:token-service-alarms"

MANAGED = "arn:aws:iam::aws:policy/"
BASIC_EXECUTION = f"{MANAGED}service-role/AWSLambdaBasicExecutionRole"
XRAY_WRITE = f"{MANAGED}AWSXrayWriteOnlyAccess"
RING_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/token-service/dev/{}-keys"
TABLE_ARN = {"Fn::GetAtt": ["SessionsTable", "Arn"]}
USER_INDEX_ARN = {"Fn::Sub": "${SessionsTable.Arn}/index/byUser"}
NEWEST_FIRST_INDEX_ARN = {"Fn::Sub": f"${{SessionsTable.Arn}}/index/{NEWEST_FIRST_INDEX}"}

# The least-privilege table of docs/security.md: the rings each function reads, and what it may do to the table.
RINGS_READ: dict[str, tuple[str, ...]] = {
    "HealthFunction": (),
    "ValidateFunction": ("access",),
    "IssueFunction": ("access", "refresh"),
    "RefreshFunction": ("access", "refresh"),
    "RevokeFunction": ("refresh",),
    "TokenAuthorizerFunction": ("access",),
    "ListSessionsFunction": ("access",),  # its page tokens are signed with the access ring
    "EndSessionFunction": (),
}
TABLE_GRANTS: dict[str, tuple[tuple[str, Any], ...]] = {
    "HealthFunction": (),
    "ValidateFunction": (),
    "IssueFunction": (("dynamodb:PutItem", TABLE_ARN),),
    "RefreshFunction": (("dynamodb:UpdateItem", TABLE_ARN),),
    "RevokeFunction": (("dynamodb:UpdateItem", TABLE_ARN), ("dynamodb:Query", USER_INDEX_ARN)),
    "TokenAuthorizerFunction": (),
    "ListSessionsFunction": (("dynamodb:Query", NEWEST_FIRST_INDEX_ARN),),
    "EndSessionFunction": (("dynamodb:UpdateItem", TABLE_ARN),),
}
# With AuthorizerChecksSession, the authorizer reads the token's session, and only that.
SESSION_CHECK_GRANTS: tuple[tuple[str, Any], ...] = (("dynamodb:GetItem", TABLE_ARN),)


@dataclass(frozen=True)
class Switches:
    """One value of every parameter that changes what the transform grants, attaches or notifies."""

    tracing: str
    extension: bool
    powertools: bool
    kms_key: bool
    topic: bool
    issue_authorization: str
    checks_session: bool

    @property
    def parameters(self) -> dict[str, str]:
        return {
            "Tracing": self.tracing,
            "ParametersExtensionLayerArn": EXTENSION if self.extension else "",
            "PowertoolsLayerArn": POWERTOOLS if self.powertools else "",
            "KeyRingsKmsKeyArn": KMS_KEY if self.kms_key else "",
            "AlarmsTopicArn": TOPIC if self.topic else "",
            "IssueAuthorization": self.issue_authorization,
            "AuthorizerChecksSession": "true" if self.checks_session else "false",
        }

    @property
    def label(self) -> str:
        flags = {
            "extension": self.extension,
            "powertools": self.powertools,
            "cmk": self.kms_key,
            "topic": self.topic,
            "session-check": self.checks_session,
        }
        return "-".join([self.tracing, *(name for name, on in flags.items() if on), self.issue_authorization])


def every_combination() -> list[Switches]:
    """Every combination the template accepts: tracing needs the Powertools layer (its Rules say so)."""
    combinations = [
        Switches(tracing, extension, powertools, kms_key, topic, authorization, checks_session)
        for tracing, authorization in itertools.product(["Active", "Disabled"], ["AWS_IAM", "NONE"])
        for extension, powertools, kms_key, topic, checks_session in itertools.product([False, True], repeat=5)
    ]
    return [switches for switches in combinations if switches.tracing == "Disabled" or switches.powertools]


COMBINATIONS = every_combination()
DEFAULTS = Switches(
    tracing="Disabled",
    extension=False,
    powertools=False,
    kms_key=False,
    topic=False,
    issue_authorization="AWS_IAM",
    checks_session=True,
)


@functools.cache
def document() -> Mapping[str, Any]:
    return Template.load().document


def template(parameters: Mapping[str, str]) -> Template:
    return Template(document(), parameters, resource_names={"SessionsTable": "sessions"})


def transformed(switches: Switches) -> Mapping[str, Any]:
    return transformed_with(tuple(sorted(switches.parameters.items())))


@functools.cache
def transformed_with(parameters: tuple[tuple[str, str], ...]) -> Mapping[str, Any]:
    """The Resources aws-sam-translator makes of the template with these parameter values.

    Its region is the tests' AWS_DEFAULT_REGION (tests/conftest.py); the template names no managed
    policy itself, so the loader of their ARNs has none to give.
    """
    sam = copy.deepcopy(dict(document()))
    sam["Globals"]["Function"]["CodeUri"] = "s3://bucket/functions.zip"  # the transform wants S3 CodeUris
    resources: Mapping[str, Any] = transform(sam, dict(parameters), SimpleNamespace(load=dict))["Resources"]
    return resources


def resolved(switches: Switches, value: Any) -> Any:
    """A transformed value as CloudFormation would deploy it with these parameters."""
    return template(switches.parameters).resolve(value)


def as_set(value: Any) -> frozenset[str]:
    """An IAM field that is a string or a list of them, as a set of JSON texts (resources may be intrinsics)."""
    return frozenset(json.dumps(item, sort_keys=True) for item in (value if isinstance(value, list) else [value]))


def grant(actions: Any, resources: Any, condition: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
    conditions = tuple(
        (operator, key, as_set(value))
        for operator, entries in sorted((condition or {}).items())
        for key, value in sorted(entries.items())
    )
    return (as_set(actions), as_set(resources), conditions)


def granted(switches: Switches, function: str) -> tuple[frozenset[str], set[tuple[Any, ...]]]:
    """The AWS managed policies of the function's role, and the statements of its inline policies and of
    the template's managed policies it attaches, resolved."""
    resources = transformed(switches)
    role = resolved(switches, resources[f"{function}Role"]["Properties"])
    documents = [policy["PolicyDocument"] for policy in role.get("Policies", []) if policy != NO_VALUE]
    attached = [arn["Ref"] for arn in role.get("ManagedPolicyArns", []) if isinstance(arn, dict)]
    documents += [resolved(switches, resources[name]["Properties"]["PolicyDocument"]) for name in attached]
    statements = [statement for document in documents for statement in document["Statement"]]
    assert all(statement["Effect"] == "Allow" for statement in statements)
    inline = {grant(s["Action"], s["Resource"], s.get("Condition")) for s in statements}
    return frozenset(arn for arn in role.get("ManagedPolicyArns", []) if isinstance(arn, str)), inline


def least_privilege(switches: Switches, function: str) -> tuple[frozenset[str], set[tuple[Any, ...]]]:
    """What the least-privilege table of docs/security.md allows the function with these switches."""
    managed = {BASIC_EXECUTION} | ({XRAY_WRITE} if switches.tracing == "Active" else set())
    rings = [RING_ARN.format(ring) for ring in RINGS_READ[function]]
    table_grants = TABLE_GRANTS[function]
    if function == "TokenAuthorizerFunction" and switches.checks_session:
        table_grants += SESSION_CHECK_GRANTS
    inline = {grant(action, resource) for action, resource in table_grants}
    # One ring per statement: each ring's grants are its own managed policy, which its readers attach.
    for ring in rings:
        inline.add(grant(["ssm:GetParameters", "ssm:GetParameter"], ring))
        if switches.kms_key:
            through_ssm_for_this_ring = {
                "StringEquals": {
                    "kms:ViaService": "ssm.us-east-1.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": ring,
                }
            }
            inline.add(grant("kms:Decrypt", KMS_KEY, through_ssm_for_this_ring))
    return frozenset(managed), inline


def combinations(test: Any) -> Any:
    return pytest.mark.parametrize("switches", COMBINATIONS, ids=[switches.label for switches in COMBINATIONS])(test)


def test_the_least_privilege_table_names_every_function() -> None:
    functions = {name for name, r in transformed(DEFAULTS).items() if r["Type"] == "AWS::Lambda::Function"}
    assert functions == set(FUNCTIONS) == set(RINGS_READ) == set(TABLE_GRANTS)


@combinations
@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_role_grants_exactly_the_least_privilege_table(switches: Switches, function: str) -> None:
    assert granted(switches, function) == least_privilege(switches, function)


@combinations
def test_the_authorizer_checks_sessions_exactly_when_its_role_may_read_them(switches: Switches) -> None:
    environment = template(switches.parameters).function_environment("TokenAuthorizerFunction")
    _, inline = granted(switches, "TokenAuthorizerFunction")
    may_read = {grant(action, resource) for action, resource in SESSION_CHECK_GRANTS} <= inline
    assert (environment["AUTHORIZER_CHECKS_SESSION"] == "true") is may_read is switches.checks_session


@combinations
def test_tracing_is_configured_exactly_when_active(switches: Switches) -> None:
    active = switches.tracing == "Active"
    for function in FUNCTIONS:
        properties = resolved(switches, transformed(switches)[function]["Properties"])
        assert properties.get("TracingConfig") == ({"Mode": "Active"} if active else None)
        environment = template(switches.parameters).function_environment(function)
        assert environment["POWERTOOLS_TRACE_DISABLED"] == ("false" if active else "true")


def expected_layers(switches: Switches, function: str) -> list[str]:
    extension = [EXTENSION] if switches.extension and RINGS_READ[function] else []
    return extension + ([POWERTOOLS] if switches.powertools else [])


@combinations
def test_only_ring_readers_get_the_extension_and_every_function_the_powertools_layer(switches: Switches) -> None:
    for function in FUNCTIONS:
        layers = resolved(switches, transformed(switches)[function]["Properties"].get("Layers", NO_VALUE))
        assert ([] if layers == NO_VALUE else layers) == expected_layers(switches, function)


@pytest.mark.parametrize(
    "switches",
    [
        replace(DEFAULTS, extension=extension, powertools=powertools)
        for extension in (False, True)
        for powertools in (False, True)
    ],
    ids=lambda switches: switches.label,
)
def test_sam_local_gets_the_same_layers_as_literal_lists(switches: Switches, tmp_path: Path) -> None:
    built = tmp_path / "template.yaml"  # `sam build` writes intrinsics in their long form
    built.write_text(yaml.safe_dump(dict(document()), sort_keys=False), encoding="utf-8")

    resolve_for_sam_local(built, template(switches.parameters))

    resources = yaml.safe_load(built.read_text(encoding="utf-8"))["Resources"]
    for function in FUNCTIONS:
        assert resources[function]["Properties"].get("Layers", []) == expected_layers(switches, function)


@combinations
def test_every_alarm_notifies_the_topic_exactly_when_one_is_given(switches: Switches) -> None:
    alarms = {name: r for name, r in transformed(switches).items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {
        "DependencyFailuresAlarm",
        "ReuseDetectedAlarm",
        "FunctionErrorsAlarm",
        "FunctionThrottlesAlarm",
        "Api5xxAlarm",
    }
    for alarm in alarms.values():
        properties = resolved(switches, alarm["Properties"])
        expected = [TOPIC] if switches.topic else None  # without a topic, CloudFormation leaves them out
        assert (properties.get("AlarmActions"), properties.get("OKActions")) == (expected, expected)


@combinations
def test_issue_route_authorization_follows_its_switch(switches: Switches) -> None:
    post = transformed(switches)["HttpApi"]["Properties"]["Body"]["paths"]["/tokens"]["post"]
    expected: list[dict[str, list[str]]] = [{"sigv4": []}] if switches.issue_authorization == "AWS_IAM" else []
    assert resolved(switches, post["security"]) == expected


# -- the Lambda authorizer, as API Gateway imports it ---------------------------------------------------

SESSION_ROUTES = {("GET", "/tokens/sessions"), ("DELETE", "/tokens/sessions/{sessionId}")}
# The header API Gateway requires, and caches answers on, for each AuthorizerTokenSource; None: no identity source.
IDENTITY_SOURCES = {"cookie": "$request.header.Cookie", "bearer": "$request.header.Authorization", "either": None}


def operations(resources: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    paths = resources["HttpApi"]["Properties"]["Body"]["paths"]
    return {(method.upper(), path): spec for path, methods in paths.items() for method, spec in methods.items()}


@combinations
def test_only_the_sessions_routes_require_the_authorizer_and_cannot_skip_it(switches: Switches) -> None:
    requirements = {
        route: resolved(switches, operation.get("security", []))
        for route, operation in operations(transformed(switches)).items()
    }
    guarded = {route for route, security in requirements.items() if "tokenAuthorizer" in str(security)}
    assert guarded == SESSION_ROUTES
    # One requirement, no empty alternative ({}) that would let a request through without it.
    assert all(requirements[route] == [{"tokenAuthorizer": []}] for route in SESSION_ROUTES)


@pytest.mark.parametrize("cache_seconds", ["0", "5", "10", "30"])
@pytest.mark.parametrize("token_source", sorted(IDENTITY_SOURCES))
def test_api_gateway_gets_the_authorizer_its_token_source_asks_for(token_source: str, cache_seconds: str) -> None:
    parameters = {"AuthorizerTokenSource": token_source, "AuthorizerCacheSeconds": cache_seconds}
    resources = transformed_with(tuple(sorted(parameters.items())))
    chosen = template(parameters)
    scheme = chosen.resolve(
        resources["HttpApi"]["Properties"]["Body"]["components"]["securitySchemes"]["tokenAuthorizer"]
    )
    authorizer = scheme["x-amazon-apigateway-authorizer"]

    assert authorizer["type"] == "request"
    assert (authorizer["authorizerPayloadFormatVersion"], authorizer["enableSimpleResponses"]) == ("2.0", True)
    identity_source = IDENTITY_SOURCES[token_source]
    assert authorizer.get("identitySource") == identity_source
    if identity_source is not None:
        assert identity_source == f"$request.header.{scheme['name']}" and scheme["in"] == "header"
    # API Gateway caches answers on the identity source only: without one, nothing is cached.
    assert int(authorizer["authorizerResultTtlInSeconds"]) == (int(cache_seconds) if identity_source else 0)
    # Invoked as SAM invokes the routes' functions, naming the authorizer function instead.
    integration = operations(resources)[("GET", "/tokens/sessions")]["x-amazon-apigateway-integration"]
    route_uri = chosen.resolve(integration["uri"])["Fn::Sub"]
    expected_uri = route_uri.replace("${ListSessionsFunction.Arn}", "${TokenAuthorizerFunction.Arn}")
    assert chosen.resolve(authorizer["authorizerUri"]) == {"Fn::Sub": expected_uri}


def test_no_cached_answer_outlives_the_shortest_access_token() -> None:
    parameters = document()["Parameters"]
    choices = parameters["AuthorizerCacheSeconds"]["AllowedValues"]
    assert 0 in choices
    assert max(choices) <= parameters["AccessTokenTtlSeconds"]["MinValue"]


@pytest.mark.parametrize("cache_seconds", document()["Parameters"]["AuthorizerCacheSeconds"]["AllowedValues"])
def test_the_cache_time_reaches_api_gateway_as_a_number(cache_seconds: int) -> None:
    """A Ref to a Number parameter would be a string inside the API's definition."""
    definition = template({"AuthorizerCacheSeconds": str(cache_seconds)}).api_definition()
    declared = definition["components"]["securitySchemes"]["tokenAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert type(declared["authorizerResultTtlInSeconds"]) is int
    assert declared["authorizerResultTtlInSeconds"] == cache_seconds


def test_api_gateway_may_invoke_the_authorizer_only_as_this_apis_authorizer() -> None:
    resources = transformed(DEFAULTS)
    names = ({"Ref": "TokenAuthorizerFunction"}, {"Fn::GetAtt": ["TokenAuthorizerFunction", "Arn"]})
    (permission,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Permission" and r["Properties"]["FunctionName"] in names
    ]
    assert (permission["Action"], permission["Principal"]) == ("lambda:InvokeFunction", "apigateway.amazonaws.com")
    source = template({}).resolve(permission["SourceArn"])
    assert source == {"Fn::Sub": "arn:aws:execute-api:us-east-1:123456789012:${HttpApi}/authorizers/*"}


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_function_error_and_throttle_alarms_sum_every_function(metric: str) -> None:
    alarm = transformed(DEFAULTS)[f"Function{metric}Alarm"]["Properties"]
    (total,) = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    assert total["Expression"] == "SUM(METRICS())"
    counted = [query["MetricStat"] for query in alarm["Metrics"] if "MetricStat" in query]
    assert all(stat["Metric"]["Namespace"] == "AWS/Lambda" and stat["Stat"] == "Sum" for stat in counted)
    assert all(stat["Metric"]["MetricName"] == metric for stat in counted)
    named = [stat["Metric"]["Dimensions"] for stat in counted]
    every_function = [[{"Name": "FunctionName", "Value": {"Ref": function}}] for function in FUNCTIONS]
    assert sorted(named, key=str) == sorted(every_function, key=str)


def test_api_5xx_alarm_watches_this_api() -> None:
    alarm = transformed(DEFAULTS)["Api5xxAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]


EMIT_OUTCOME = """
import sys
from token_service.domain.outcomes import Outcome
from token_service.observability import count_outcome, metrics
count_outcome(Outcome(sys.argv[1]))
metrics.flush_metrics()
"""


def emitted_metric(stage: str, outcome: str, metric: str) -> tuple[str, dict[str, str]]:
    """The namespace and dimensions the functions' EMF blob gives the metric of this outcome."""
    variables = Template.load(parameters={"Stage": stage}, resource_names={"SessionsTable": "t"})
    result = subprocess.run(
        [sys.executable, "-c", EMIT_OUTCOME, outcome],
        env={**variables.function_environment("RefreshFunction"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    blobs = [json.loads(line) for line in result.stdout.splitlines() if '"_aws"' in line]
    ((definition, blob),) = [
        (d, b) for b in blobs for d in b["_aws"]["CloudWatchMetrics"] if metric in {m["Name"] for m in d["Metrics"]}
    ]
    (dimensions,) = definition["Dimensions"]
    return definition["Namespace"], {name: blob[name] for name in dimensions}


@pytest.mark.parametrize(
    ("alarm", "outcome"),
    [("DependencyFailuresAlarm", "dependency_failure"), ("ReuseDetectedAlarm", "rejected:reuse_detected")],
)
def test_metric_alarms_watch_the_metric_and_dimensions_the_functions_emit(alarm: str, outcome: str) -> None:
    properties = Template.load(parameters={"Stage": "prod"}).resolve(transformed(DEFAULTS)[alarm]["Properties"])

    namespace, dimensions = emitted_metric("prod", outcome, properties["MetricName"])

    assert properties["Namespace"] == namespace
    assert {d["Name"]: d["Value"] for d in properties["Dimensions"]} == dimensions
    assert dimensions["service"] == "token-service-prod"  # another stage's failures never raise this stage's alarm


def test_reuse_alarm_threshold_is_the_parameter() -> None:
    alarm = transformed(DEFAULTS)["ReuseDetectedAlarm"]["Properties"]
    assert alarm["Threshold"] == {"Ref": "ReuseDetectedAlarmThreshold"}


LOGGED = {f"{function}Logs": function for function in FUNCTIONS}


def test_every_function_logs_to_its_own_group_kept_for_the_retention_and_removed_with_the_stack() -> None:
    resources = transformed(DEFAULTS)
    for group, function in LOGGED.items():
        assert resources[function]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group}}
        name = Template.load().resolve(resources[group]["Properties"]["LogGroupName"])
        assert name == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}/{function}"}
    groups = {name: r for name, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
    assert set(groups) == {*LOGGED, "AccessLogs"}
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
        assert group.get("DeletionPolicy", "Delete") == group.get("UpdateReplacePolicy", "Delete") == "Delete"


def test_the_api_access_log_goes_to_its_group() -> None:
    settings = transformed(DEFAULTS)["HttpApiApiGatewayDefaultStage"]["Properties"]["AccessLogSettings"]
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["AccessLogs", "Arn"]}


@pytest.mark.parametrize(("retention", "protected"), [("Retain", True), ("Delete", False)])
def test_sessions_table_retention_decides_its_deletion_policy_and_protection(retention: str, protected: bool) -> None:
    table = transformed(DEFAULTS)["SessionsTable"]
    chosen = Template.load(parameters={"SessionsTableRetention": retention})
    assert chosen.resolve(table["DeletionPolicy"]) == chosen.resolve(table["UpdateReplacePolicy"]) == retention
    assert chosen.resolve(table["Properties"]["DeletionProtectionEnabled"]) is protected
    # A Ref in DeletionPolicy is CloudFormation's only with this transform, which must run before SAM's.
    assert document()["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def test_sessions_table_is_kept_unless_a_stage_says_otherwise() -> None:
    assert document()["Parameters"]["SessionsTableRetention"]["Default"] == "Retain"


@pytest.mark.parametrize("parameter", ["ThrottlingRateLimit", "ThrottlingBurstLimit"])
def test_throttling_is_described_as_per_route(parameter: str) -> None:
    description = document()["Parameters"][parameter]["Description"]
    assert "EACH route" in description
    assert "across" not in description


@pytest.mark.parametrize(
    ("tracing", "powertools", "accepted"),
    [("Active", POWERTOOLS, True), ("Active", "", False), ("Disabled", "", True), ("Disabled", POWERTOOLS, True)],
)
def test_tracing_without_the_powertools_layer_is_refused(tracing: str, powertools: str, accepted: bool) -> None:
    chosen = Template.load(parameters={"Tracing": tracing, "PowertoolsLayerArn": powertools})
    rule = document()["Rules"]["TracingNeedsThePowertoolsLayer"]
    applies = chosen.resolve(rule["RuleCondition"])
    assert (not applies or all(chosen.resolve(a["Assert"]) for a in rule["Assertions"])) is accepted


# -- every free-text parameter fails at deploy time, not at the first request -------------------------


def violations(name: str, value: str) -> list[str]:
    """What CloudFormation would say against this value of the parameter (its own constraints only)."""
    spec = document()["Parameters"][name]
    problems = []
    if "AllowedValues" in spec and value not in [str(allowed) for allowed in spec["AllowedValues"]]:
        problems.append("not an allowed value")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        problems.append("does not match the pattern")
    if len(value) > spec.get("MaxLength", len(value)):
        problems.append("too long")
    if spec["Type"] == "Number":
        number = float(value)
        if not spec.get("MinValue", number) <= number <= spec.get("MaxValue", number):
            problems.append("out of range")
    return problems


def test_every_parameter_is_constrained() -> None:
    for name, spec in document()["Parameters"].items():
        bounded = {"AllowedValues"} & spec.keys() or {"MinValue", "MaxValue"} <= spec.keys()
        assert bounded if spec["Type"] == "Number" else {"AllowedValues", "AllowedPattern"} & spec.keys(), name
        assert spec.get("Description"), name


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KeyRingsKmsKeyArn", "alias/aws/ssm"),
        ("KeyRingsKmsKeyArn", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("KeyRingsKmsKeyArn", "arn:aws:kms:us-east-1:123456789012:alias/rings"),
        ("ParametersExtensionLayerArn", "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets"),
        ("PowertoolsLayerArn", "arn:aws:lambda:us-east-1:123456789012:function:powertools"),
        ("AlarmsTopicArn", "arn:aws:sqs:us-east-1:123456789012:alarms"),
        ("AlarmsTopicArn", "token-service-alarms"),
        ("AccessKeyRingName", "/token-service/dev/access-keys"),
        ("RefreshKeyRingName", "a//b"),
        ("Stage", "Prod"),
        ("MetricsNamespace", "Token Service"),
        ("LogRetentionInDays", "10"),
        ("SessionsTableRetention", "Snapshot"),
        ("ThrottlingRateLimit", "20000"),
        ("ReuseDetectedAlarmThreshold", "0"),
    ],
)
def test_a_wrong_value_is_refused_by_the_parameters_constraints(name: str, value: str) -> None:
    assert violations(name, value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KeyRingsKmsKeyArn", KMS_KEY),
        ("KeyRingsKmsKeyArn", "arn:aws:kms:eu-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"),
        ("ParametersExtensionLayerArn", EXTENSION),
        ("PowertoolsLayerArn", POWERTOOLS),
        ("AlarmsTopicArn", TOPIC),
        ("AccessKeyRingName", "acme/rings/access"),
        ("LogRetentionInDays", "7"),
    ],
)
def test_a_right_value_passes_the_parameters_constraints(name: str, value: str) -> None:
    assert violations(name, value) == []


# -- samconfig.toml: every command of an environment deploys the same stack -----------------------------

SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def overrides(environment: str) -> dict[str, str]:
    text = SAMCONFIG[environment]["global"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in shlex.split(text))


@pytest.mark.parametrize("environment", ["default", "dev", "prod"])
def test_each_environment_shares_stack_region_and_parameters_with_every_command(environment: str) -> None:
    shared = SAMCONFIG[environment]["global"]["parameters"]
    assert {"stack_name", "region", "parameter_overrides", "capabilities"} <= shared.keys()
    assert "CAPABILITY_AUTO_EXPAND" in shared["capabilities"].split()  # the LanguageExtensions transform
    for command, section in SAMCONFIG[environment].items():
        assert command == "global" or not {"stack_name", "region", "parameter_overrides"} & section["parameters"].keys()
    for name, value in overrides(environment).items():
        assert violations(name, value) == [], name


def test_plain_sam_commands_deploy_the_dev_stage() -> None:
    assert SAMCONFIG["default"] == SAMCONFIG["dev"]


@pytest.mark.parametrize(
    ("environment", "authorization", "retention"), [("dev", "NONE", "Delete"), ("prod", "AWS_IAM", "Retain")]
)
def test_prod_keeps_its_table_and_signs_issue_requests(environment: str, authorization: str, retention: str) -> None:
    chosen = overrides(environment)
    assert (chosen["Stage"], chosen["IssueAuthorization"]) == (environment, authorization)
    assert chosen["SessionsTableRetention"] == retention


# -- CI for a fork: the same make targets as .ci/run ------------------------------------------------------


def make_targets(commands: list[str]) -> list[str]:
    return [target for command in commands for target in re.findall(r"^make ([\w-]+)$", command.strip(), re.MULTILINE)]


def expanded(command: str, matrix: Mapping[str, list[str]]) -> list[str]:
    """A step's command for every value of the one matrix variable it names, as GitHub runs it."""
    named = re.findall(r"\$\{\{ matrix\.(\w+) \}\}", command)
    if not named:
        return [command]
    (variable,) = set(named)
    return [command.replace(f"${{{{ matrix.{variable} }}}}", value) for value in matrix[variable]]


def test_the_github_workflow_runs_the_ci_scripts_make_targets() -> None:
    ci_script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    commands = [
        command
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "run" in step
        for command in expanded(step["run"], job.get("strategy", {}).get("matrix", {}))
    ]
    assert sorted(make_targets(commands)) == sorted(make_targets(ci_script))

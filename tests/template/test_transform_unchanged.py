"""template.yaml, transformed under every switch, deploys what it deployed before its copies were factored out.

`transformed.json` holds the SAM transform of the template as it stood before, for each combination
below, in a canonical form: every resource and output as CloudFormation would deploy it with the
combination's parameters (conditions decided, parameters and pseudo parameters substituted), and
each role's permissions as one set of single grants (effect, one action, one resource, one value per
condition key) gathered from its inline policies and the template's managed policies it attaches.
Equal grant sets are equal permissions whatever the statements, Sids and policy names that carry them.
A change meant to alter what is deployed re-records the fixture (`python -m tests.template.record_transformed`)
and says in its commit what changed and why.

Intended differences, left out of the comparison or folded as said:
- checkov's skips of checks that hold for every function or log group live in `.checkov.yaml`, no
  longer in each resource's Metadata: Metadata is compared without its `checkov` entry.
- ReadAccessKeyRingPolicy and ReadRefreshKeyRingPolicy (AWS::IAM::ManagedPolicy) are new: each
  holds one ring's read grant, and with a customer managed key its decrypt grant, once; each role
  that read the ring inline attaches it instead. They are compared through those roles.
- A decrypt grant naming both rings in its encryption-context condition is now two grants naming
  one each: StringEquals over a single-valued key grants when any listed value matches, so the
  comparison splits such lists into one grant per value.
- DependencyFailuresAlarm's description and the TokenAuthorizerFunctionArn output's point at docs/
  pages, no longer at README sections (re-recorded).
- The managed policies declare Version 2012-10-17 and the inline ones none (2008-10-17): the two
  differ only in how they read policy variables, and the comparison refuses any grant holding one.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from infra.template import Template

FIXTURE = Path(__file__).with_name("transformed.json")
FOLDED_INTO_ROLES = frozenset({"ReadAccessKeyRingPolicy", "ReadRefreshKeyRingPolicy"})

EXTENSION = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:17"
POWERTOOLS = "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:18"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:us-east-1:123456789012:token-service-alarms"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/1234abcd-12ab-34cd-56ef-1234567890ab"
# A value for each free-text parameter a condition tests: each is tried empty and set.
SAMPLES = {
    "ParametersExtensionLayerArn": EXTENSION,
    "PowertoolsLayerArn": POWERTOOLS,
    "KeyRingsKmsKeyArn": KMS_KEY,
    "AlarmsTopicArn": TOPIC,
    "AccessKeyRingName": "acme/rings/access",
    "RefreshKeyRingName": "acme/rings/refresh",
    "DomainName": "example.com",
    "ApiSubdomain": "auth",
    "CertificateArn": CERTIFICATE,
    "BasePath": "auth",
    "AllowedOrigins": "https://app.example.com",
}
# The browser layouts (tests/template/test_browser_layouts.py), and both rings renamed under a key.
LAYOUTS: tuple[dict[str, str], ...] = (
    {"DomainName": "app.example.com", "CertificateArn": CERTIFICATE, "BasePath": "auth"},
    {
        "DomainName": "example.com",
        "ApiSubdomain": "auth",
        "CertificateArn": CERTIFICATE,
        "ShareCookiesWithDomain": "true",
        "AllowedOrigins": "https://app.example.com",
    },
    {
        "AccessKeyRingName": "acme/rings/access",
        "RefreshKeyRingName": "acme/rings/refresh",
        "KeyRingsKmsKeyArn": KMS_KEY,
    },
)
# IAM grants when the key's value matches any one listed: a list is one grant per value.
ANY_VALUE_OPERATORS = frozenset({"StringEquals", "StringLike", "ArnEquals", "ArnLike"})
STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "Resource", "Condition"})
MANAGED_POLICY_KEYS = frozenset({"Description", "PolicyDocument", "Roles"})

Combination = tuple[tuple[str, str], ...]


@functools.cache
def document() -> Mapping[str, Any]:
    return Template.load().document


def declared() -> Mapping[str, Any]:
    parameters: Mapping[str, Any] = document()["Parameters"]
    return parameters


def allowed(name: str) -> list[str]:
    return [str(value) for value in declared()[name].get("AllowedValues", [])]


# -- the combinations ----------------------------------------------------------------------------------


def switched() -> Iterator[dict[str, str]]:
    """Every switch that changes what is granted, attached or notified, together, as the production tests try them."""
    given = ("ParametersExtensionLayerArn", "PowertoolsLayerArn", "KeyRingsKmsKeyArn", "AlarmsTopicArn")
    chosen = ("Tracing", "IssueAuthorization", "AuthorizerChecksSession")
    for values in itertools.product(*(allowed(name) for name in chosen)):
        for on in itertools.product([False, True], repeat=len(given)):
            yield dict(zip(chosen, values, strict=True)) | {
                name: SAMPLES[name] if is_set else "" for name, is_set in zip(given, on, strict=True)
            }


def authorizers() -> Iterator[dict[str, str]]:
    for source, seconds in itertools.product(allowed("AuthorizerTokenSource"), allowed("AuthorizerCacheSeconds")):
        yield {"AuthorizerTokenSource": source, "AuthorizerCacheSeconds": seconds}


def one_at_a_time() -> Iterator[dict[str, str]]:
    for name in declared():
        yield from ({name: value} for value in allowed(name))
    yield from ({name: value} for name, value in SAMPLES.items())


def accepted(parameters: Mapping[str, str]) -> bool:
    """Whether the template's Rules let CloudFormation deploy these parameters."""
    chosen = Template(document(), parameters)
    return all(
        not chosen.resolve(rule.get("RuleCondition", True))
        or all(chosen.resolve(a["Assert"]) for a in rule["Assertions"])
        for rule in document().get("Rules", {}).values()
    )


def without_defaults(parameters: Mapping[str, str]) -> Combination:
    defaults = Template(document()).parameters
    return tuple(sorted((name, value) for name, value in parameters.items() if defaults[name] != value))


def every_combination() -> list[Combination]:
    tried = itertools.chain(switched(), authorizers(), one_at_a_time(), LAYOUTS)
    unique = dict.fromkeys(without_defaults(parameters) for parameters in tried)
    return [combination for combination in unique if accepted(dict(combination))]


def label(combination: Combination) -> str:
    shown = ((name, "set" if value.startswith("arn:") else value) for name, value in combination)
    return ",".join(f"{name}={value}" for name, value in shown) or "defaults"


COMBINATIONS = every_combination()


def condition_inputs(value: Any) -> Iterator[str]:
    """The parameters a condition reads."""
    if isinstance(value, list):
        for item in value:
            yield from condition_inputs(item)
    elif isinstance(value, dict):
        if isinstance(value.get("Ref"), str) and value["Ref"] in declared():
            yield value["Ref"]
        for item in value.values():
            yield from condition_inputs(item)


# -- the canonical form --------------------------------------------------------------------------------


def transformed(source: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    sam = copy.deepcopy(dict(source))
    sam["Globals"]["Function"]["CodeUri"] = "s3://bucket/functions.zip"  # the transform wants S3 CodeUris
    output: dict[str, Any] = transform(sam, dict(parameters), SimpleNamespace(load=dict))
    return output


def canonical(source: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """What CloudFormation deploys of the source template with these parameters, one entry per resource and output."""
    output = transformed(source, parameters)
    chosen = Template(output, parameters)
    resources = deployed(chosen, output["Resources"])
    folded = managed_policies(resources)
    entries = {
        f"Resources/{name}": canonical_resource(name, resource, folded)
        for name, resource in resources.items()
        if name not in folded
    }
    entries |= {f"Outputs/{name}": value for name, value in deployed(chosen, output.get("Outputs", {})).items()}
    # Conditions are compared through what they decide; the rest (Parameters, Rules, ...) as written.
    entries |= {key: value for key, value in output.items() if key not in {"Resources", "Outputs", "Conditions"}}
    return entries


def deployed(chosen: Template, section: Mapping[str, Any]) -> dict[str, Any]:
    """The entries whose Condition holds, resolved, without the Condition they no longer need."""
    return {
        name: chosen.resolve({key: value for key, value in entry.items() if key != "Condition"})
        for name, entry in section.items()
        if "Condition" not in entry or chosen.condition(entry["Condition"])
    }


def managed_policies(resources: Mapping[str, Any]) -> dict[str, Any]:
    policies = {name: r for name, r in resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    for name, policy in policies.items():
        # Only roles are folded: a policy attached to users or groups, or named, is not comparable so.
        if set(policy["Properties"]) - MANAGED_POLICY_KEYS or set(policy) - {"Type", "Properties"}:
            raise ValueError(f"{name}: cannot fold {sorted(policy['Properties'])} into roles")
    return policies


def canonical_resource(name: str, resource: Mapping[str, Any], folded: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(resource)
    metadata = {key: value for key, value in result.pop("Metadata", {}).items() if key != "checkov"}
    if metadata:
        result["Metadata"] = metadata
    if result["Type"] == "AWS::IAM::Role":
        result["Properties"] = effective_permissions(name, result["Properties"], folded)
    return result


def effective_permissions(role: str, properties: Mapping[str, Any], folded: Mapping[str, Any]) -> dict[str, Any]:
    """The role's properties with its inline and attached template policies as one set of grants."""
    result = dict(properties)
    documents = [policy["PolicyDocument"] for policy in result.pop("Policies", [])]
    arns = []
    for arn in result.pop("ManagedPolicyArns", []):
        named = arn.get("Ref") if isinstance(arn, dict) else None
        if isinstance(named, str) and named in folded:
            documents.append(folded[named]["Properties"]["PolicyDocument"])
        else:
            arns.append(arn)
    documents += [
        policy["Properties"]["PolicyDocument"]
        for policy in folded.values()
        if {"Ref": role} in policy["Properties"].get("Roles", [])
    ]
    result["EffectivePermissions"] = {"ManagedPolicyArns": sorted(arns, key=text), "Grants": grants(documents)}
    return result


def grants(documents: Iterable[Mapping[str, Any]]) -> list[Any]:
    found = {text(grant) for policy in documents for statement in policy["Statement"] for grant in single(statement)}
    return [json.loads(grant) for grant in sorted(found)]


def single(statement: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The statement as grants of one action on one resource under one condition case each."""
    unknown = set(statement) - STATEMENT_KEYS
    if unknown:
        raise ValueError(f"cannot compare statements with {sorted(unknown)}")
    cases = condition_cases(statement.get("Condition", {}))
    for action, resource, case in itertools.product(listed(statement["Action"]), listed(statement["Resource"]), cases):
        variables = [part for part in plain_strings([resource, case]) if "${" in part]
        if variables:  # the policy's Version would decide what they mean
            raise ValueError(f"cannot compare grants with policy variables {variables}")
        yield {"Effect": statement["Effect"], "Action": action, "Resource": resource, "Condition": case}


def condition_cases(condition: Mapping[str, Any]) -> list[list[Any]]:
    """Alternatives, each holding all of its tests; a test over any one listed value becomes one per value."""
    tests = []
    for operator, keys in sorted(condition.items()):
        for key, values in sorted(keys.items()):
            if operator in ANY_VALUE_OPERATORS:
                tests.append([[operator, key, value] for value in listed(values)])
            else:
                tests.append([[operator, key, sorted(listed(values), key=text)]])
    return [sorted(case, key=text) for case in itertools.product(*tests)]


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def plain_strings(value: Any) -> Iterator[str]:
    """The strings IAM reads as written; an intrinsic's are CloudFormation's to substitute first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from plain_strings(item)


def text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


# -- the comparison ------------------------------------------------------------------------------------


@functools.cache
def fixture() -> Mapping[str, Any]:
    recorded: Mapping[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return recorded


def recorded(combination: Combination) -> dict[str, Any]:
    """The fixture's canonical form of this combination: each entry is an index into that entry's variants."""
    (chosen,) = [c for c in fixture()["combinations"] if c["parameters"] == dict(combination)]
    return {key: fixture()["variants"][key][index] for key, index in chosen["entries"].items()}


def test_the_fixture_records_every_combination() -> None:
    in_fixture = sorted(text(c["parameters"]) for c in fixture()["combinations"])
    assert in_fixture == sorted(text(dict(c)) for c in COMBINATIONS)


def test_every_switch_takes_each_of_its_values() -> None:
    defaults = Template(document()).parameters
    taken: dict[str, set[str]] = {name: {value} for name, value in defaults.items()}
    for combination in COMBINATIONS:
        for name, value in combination:
            taken[name].add(value)
    switches = {name for name in declared() if allowed(name)} | set(condition_inputs(document()["Conditions"]))
    for name in switches:
        assert set(allowed(name) or ["", SAMPLES[name]]) <= taken[name], name


@pytest.mark.parametrize("combination", COMBINATIONS, ids=[label(c) for c in COMBINATIONS])
def test_the_transform_deploys_what_it_deployed(combination: Combination) -> None:
    expected = recorded(combination)
    actual = canonical(document(), dict(combination))

    assert (sorted(expected.keys() - actual.keys()), sorted(actual.keys() - expected.keys())) == ([], [])
    changed = sorted(key for key in expected if expected[key] != actual[key])
    for key in changed[:1]:  # the first one in full, as pytest compares them
        assert actual[key] == expected[key], (
            f"{key} changed{grant_changes(actual[key], expected[key])}; also {changed[1:]}"
        )


def grant_changes(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    """A role's grants that appeared or went, as a message."""

    def of(entry: Mapping[str, Any]) -> set[str]:
        return {text(grant) for grant in entry.get("Properties", {}).get("EffectivePermissions", {}).get("Grants", [])}

    added, removed = sorted(of(actual) - of(expected)), sorted(of(expected) - of(actual))
    return f", grants added {added}, removed {removed}" if added or removed else ""


def test_the_new_managed_policies_are_the_folded_ones_and_each_is_attached() -> None:
    resources = transformed(document(), {})["Resources"]
    policies = {name for name, r in resources.items() if r["Type"] == "AWS::IAM::ManagedPolicy"}
    assert policies == FOLDED_INTO_ROLES
    attached = {
        arn["Ref"]
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Role"
        for arn in r["Properties"].get("ManagedPolicyArns", [])
        if isinstance(arn, dict) and "Ref" in arn
    }
    assert policies <= attached

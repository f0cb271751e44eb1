"""The copy of the template `make sam-local` hands to SAM: layers resolved as CloudFormation would,
and each route's authorizer named where `sam local` looks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local.sam_local import resolve_for_sam_local
from infra.template import Template

LAYER = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"


def built_for_sam_local(directory: Path, parameters: dict[str, str]) -> dict[str, Any]:
    built = directory / "template.yaml"  # `sam build` writes intrinsics in their long form
    built.write_text(yaml.safe_dump(dict(Template.load().document), sort_keys=False), encoding="utf-8")
    resolve_for_sam_local(built, Template.load(parameters=parameters))
    document: dict[str, Any] = yaml.safe_load(built.read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("layer", ["", LAYER])
def test_layers_are_resolved_for_every_function(tmp_path: Path, layer: str) -> None:
    document = built_for_sam_local(tmp_path, {"ParametersExtensionLayerArn": layer})

    declared = [document["Globals"]["Function"], *(r["Properties"] for r in document["Resources"].values())]
    layers = [properties["Layers"] for properties in declared if "Layers" in properties]
    # Plain lists of ARNs, none empty; the extension wherever it is given, nothing when it is not.
    assert all(isinstance(found, list) and found and all(isinstance(arn, str) for arn in found) for found in layers)
    assert {arn for found in layers for arn in found} == ({layer} if layer else set())


@pytest.mark.parametrize("source", ["cookie", "bearer", "either"])
def test_the_sessions_events_name_the_authorizer_their_routes_require(tmp_path: Path, source: str) -> None:
    document = built_for_sam_local(tmp_path, {"AuthorizerTokenSource": source})

    named = {
        (event["Properties"]["Method"], event["Properties"]["Path"]): event["Properties"].get("Auth")
        for resource in document["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
    }
    assert {route: auth for route, auth in named.items() if auth} == {
        ("GET", "/tokens/sessions"): {"Authorizer": "tokenAuthorizer"},
        ("DELETE", "/tokens/sessions/{sessionId}"): {"Authorizer": "tokenAuthorizer"},
    }

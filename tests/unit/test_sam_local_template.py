"""The copy of the template `make sam-local` hands to SAM: conditional layers resolved as CloudFormation would."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.sam_local import resolve_layers
from infra.template import Template

LAYER = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12"


@pytest.mark.parametrize("layer", ["", LAYER])
def test_layers_are_resolved_for_every_function(tmp_path: Path, layer: str) -> None:
    built = tmp_path / "template.yaml"  # `sam build` writes intrinsics in their long form
    built.write_text(yaml.safe_dump(dict(Template.load().document), sort_keys=False), encoding="utf-8")

    resolve_layers(built, Template.load(parameters={"ParametersExtensionLayerArn": layer}))

    document = yaml.safe_load(built.read_text(encoding="utf-8"))
    declared = [document["Globals"]["Function"], *(r["Properties"] for r in document["Resources"].values())]
    layers = [properties["Layers"] for properties in declared if "Layers" in properties]
    # Plain lists of ARNs, none empty; the extension wherever it is given, nothing when it is not.
    assert all(isinstance(found, list) and found and all(isinstance(arn, str) for arn in found) for found in layers)
    assert {arn for found in layers for arn in found} == ({layer} if layer else set())

"""openapi.yaml as data: its operations, and its local references followed."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from infra.template import ROOT

DOCUMENT_PATH = ROOT / "openapi.yaml"
DOCUMENT_URI = "urn:token-service:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


def resolved(node: Any) -> Any:
    """A Response or Header object, following one local `$ref`."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def documented_operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }

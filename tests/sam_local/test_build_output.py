"""What `sam build` ships: every module with its bytecode, compiled for the runtime, never stale."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from infra.local.sam_local import BUILD_DIR, SamLocal
from infra.template import Template

# PEP 552 flags word: bit 0 = hash-based, bit 1 = check the source. Unchecked hash is 0b01.
UNCHECKED_HASH = 0b01


@pytest.fixture(scope="module")
def built(sam_local: SamLocal) -> list[Path]:
    """Each function's build directory, from the build `sam local` serves."""
    names = sorted(Template.load().resources_of_type("AWS::Serverless::Function"))
    return [BUILD_DIR / name for name in names]


def test_every_function_is_built(built: list[Path]) -> None:
    for directory in built:
        assert (directory / "token_service" / "handlers").is_dir(), directory


@pytest.mark.parametrize("package", ["token_service", "jwt", "aws_lambda_powertools"])
def test_every_module_ships_unchecked_hash_bytecode_for_this_python(built: list[Path], package: str) -> None:
    for directory in built:
        sources = sorted((directory / package).rglob("*.py"))
        assert sources, directory / package
        for source in sources:
            compiled = Path(importlib.util.cache_from_source(str(source)))
            header = compiled.read_bytes()[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER, compiled
            assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, compiled


def test_no_development_bytecode_or_native_code_is_shipped(built: list[Path]) -> None:
    for directory in built:
        assert not list(directory.rglob("*.so"))
        assert not [path for path in directory.rglob("*.pyc") if "cpython-313" not in path.name]

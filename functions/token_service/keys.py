"""Signing-key rings kept as SecureString parameters in SSM Parameter Store.

A ring is JSON: {"current": "<kid>", "keys": {"<kid>": "<base64url of 32+ random bytes>"}}.
Tokens are signed with the current key and verified with the key their `kid` header names,
so a rotation keeps the previous key verifying until its tokens have expired.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from token_service.errors import DependencyUnavailable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SSMProvider

MIN_KEY_BYTES = 32


class MalformedKeyRing(ValueError):
    """A key-ring parameter that is not the documented JSON shape."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    current_kid: str
    keys: Mapping[str, bytes]

    @property
    def signing_key(self) -> bytes:
        return self.keys[self.current_kid]

    def verification_key(self, kid: str) -> bytes | None:
        return self.keys.get(kid)

    def to_json(self) -> str:
        encoded = {kid: base64.urlsafe_b64encode(key).rstrip(b"=").decode() for kid, key in self.keys.items()}
        return json.dumps({"current": self.current_kid, "keys": encoded}, separators=(",", ":"))


@lru_cache(maxsize=16)
def parse_key_ring(raw: str) -> KeyRing:
    """Parse and check a ring; cached so a warm function decodes each ring once per value."""
    try:
        document: Any = json.loads(raw)
    except json.JSONDecodeError as error:
        raise MalformedKeyRing("key ring is not JSON") from error
    if not isinstance(document, dict):
        raise MalformedKeyRing("key ring is not a JSON object")
    current, encoded_keys = document.get("current"), document.get("keys")
    if not isinstance(current, str) or not isinstance(encoded_keys, dict):
        raise MalformedKeyRing("key ring needs a string 'current' and an object 'keys'")
    keys = {kid: _decode_key(kid, value) for kid, value in encoded_keys.items()}
    if current not in keys:
        raise MalformedKeyRing("key ring's current kid has no key")
    return KeyRing(current_kid=current, keys=keys)


def _decode_key(kid: str, value: object) -> bytes:
    if not isinstance(value, str):
        raise MalformedKeyRing(f"key {kid!r} is not a string")
    try:
        key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as error:
        raise MalformedKeyRing(f"key {kid!r} is not base64url") from error
    if len(key) < MIN_KEY_BYTES:
        raise MalformedKeyRing(f"key {kid!r} is shorter than {MIN_KEY_BYTES} bytes")
    return key


class KeyRingStore:
    """The rings one function may read, fetched in one batched, decrypted SSM call.

    Powertools caches the raw values for `max_age` seconds, so a rotation reaches warm
    functions within that time; a failed fetch is not cached and the next call retries.
    """

    def __init__(self, provider: SSMProvider, parameter_names: Sequence[str], max_age: int) -> None:
        self._provider = provider
        self._request: dict[str, dict[str, object]] = {name: {} for name in parameter_names}
        self._max_age = max_age

    def ring(self, parameter_name: str) -> KeyRing:
        return parse_key_ring(self._fetch()[parameter_name])

    def _fetch(self) -> dict[str, str]:
        try:
            values = cast(
                "dict[str, str]",
                self._provider.get_parameters_by_name(parameters=self._request, decrypt=True, max_age=self._max_age),
            )
        except (GetParameterError, BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("key rings could not be read from SSM") from error
        # Powertools answers InvalidKeyId and InternalServerError with a partial result.
        if values.keys() != self._request.keys():
            raise DependencyUnavailable("key rings could not be read from SSM")
        return values

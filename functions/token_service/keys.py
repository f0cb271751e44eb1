"""Signing-key rings kept as SecureString parameters in SSM Parameter Store.

A ring is JSON: {"current": "<kid>", "keys": {"<kid>": "<base64url of 32+ random bytes>"}}.
Tokens are signed with the current key and verified with the key their `kid` header names,
so a rotation keeps the previous key verifying until its tokens have expired.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


def parse_key_ring(raw: str) -> KeyRing:
    """Parse and check a ring's JSON."""
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

    Powertools makes the call; the parsed rings are kept here for `max_age` seconds, so a
    rotation reaches warm functions within that time. They are kept here rather than in
    Powertools' cache because a lookup there costs ≈ 15 µs per request, half of a token's
    verification. A failed fetch is not kept: the next request tries again.
    """

    def __init__(
        self,
        provider: SSMProvider,
        parameter_names: Sequence[str],
        max_age: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._provider = provider
        self._request: dict[str, dict[str, object]] = {name: {} for name in parameter_names}
        self._max_age = max_age
        self._clock = clock
        # (fresh until, rings), swapped as one value so concurrent requests never see half of a reload.
        self._cache: tuple[float, dict[str, KeyRing]] = (float("-inf"), {})

    def ring(self, parameter_name: str) -> KeyRing:
        fresh_until, rings = self._cache
        if self._clock() >= fresh_until:
            rings = self._load()
            self._cache = (self._clock() + self._max_age, rings)
        return rings[parameter_name]

    def _load(self) -> dict[str, KeyRing]:
        try:
            values = cast(
                "dict[str, str]",
                # max_age=0: this store is the cache, Powertools' would only be a second copy.
                self._provider.get_parameters_by_name(parameters=self._request, decrypt=True, max_age=0),
            )
        except (GetParameterError, BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("key rings could not be read from SSM") from error
        # Powertools answers InvalidKeyId and InternalServerError with a partial result.
        if values.keys() != self._request.keys():
            raise DependencyUnavailable("key rings could not be read from SSM")
        return {name: parse_key_ring(value) for name, value in values.items()}

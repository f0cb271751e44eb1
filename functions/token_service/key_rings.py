"""Signing-key rings kept as SecureString parameters in SSM Parameter Store.

A ring is JSON: {"current": "<kid>", "keys": {"<kid>": "<base64url of 32+ random bytes>"}}.
Tokens are signed with the current key and verified with the key their `kid` header names,
so a rotation keeps the previous key verifying until its tokens have expired.

Rings come from the AWS Parameters and Secrets Lambda Extension where the function has it (a
localhost HTTP call, no SDK), else from SSM through boto3. The validate function needs nothing
else from AWS, so with the extension it never imports boto3, the largest part of a cold start.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast
from urllib.parse import urlencode

from token_service import deadline
from token_service.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

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


class ParameterSource(Protocol):
    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        """The decrypted value of every name, or DependencyUnavailable."""
        ...


class SsmParameterSource:
    """One batched, decrypted GetParameters call through Powertools' SSM provider."""

    def __init__(self, ssm_client: SSMClient) -> None:
        from aws_lambda_powertools.utilities.parameters import SSMProvider  # noqa: PLC0415 - imports boto3

        self._provider = SSMProvider(boto3_client=ssm_client)

    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        request: dict[str, dict[str, object]] = {name: {} for name in names}
        try:
            # max_age=0: KeyRingStore is the cache; Powertools' would only be a second copy.
            values = self._provider.get_parameters_by_name(parameters=request, decrypt=True, max_age=0)
        except (GetParameterError, BotoCoreError, ClientError) as error:
            raise DependencyUnavailable("key rings could not be read from SSM") from error
        # Powertools answers InvalidKeyId and InternalServerError with a partial result.
        if values.keys() != request.keys():
            raise DependencyUnavailable("key rings could not be read from SSM")
        return cast("dict[str, str]", values)


class ExtensionParameterSource:
    """SSM through the AWS Parameters and Secrets Lambda Extension on localhost: one call per ring."""

    def __init__(self, port: int, session_token: str, host: str = "localhost") -> None:
        self._host = host
        self._port = port
        self._headers = {"X-Aws-Parameters-Secrets-Token": session_token}

    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        return {name: self._get(name) for name in names}

    def _get(self, name: str) -> str:
        path = "/systemsmanager/parameters/get?" + urlencode({"name": name, "withDecryption": "true"})
        deadline.check_attempt()
        connection = http.client.HTTPConnection(self._host, self._port, timeout=deadline.ATTEMPT_SECONDS)
        try:
            connection.request("GET", path, headers=self._headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise DependencyUnavailable("the parameters extension did not answer") from error
        finally:
            connection.close()
        if status != 200:
            raise DependencyUnavailable(f"the parameters extension answered {status}")
        try:
            value = json.loads(body)["Parameter"]["Value"]
        except (ValueError, KeyError, TypeError) as error:
            raise DependencyUnavailable("the parameters extension answered without a value") from error
        if not isinstance(value, str):
            raise DependencyUnavailable("the parameters extension answered without a value")
        return value


class KeyRingStore:
    """The rings one function may read, fetched together from their source.

    The parsed rings are kept here for `max_age` seconds, so a rotation reaches warm functions
    within that time. A failed fetch is not kept: the next request tries again.
    """

    def __init__(
        self,
        source: ParameterSource,
        parameter_names: Sequence[str],
        max_age: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._names = list(parameter_names)
        self._max_age = max_age
        self._clock = clock
        # (fresh until, rings), swapped as one value so concurrent requests never see half of a reload.
        self._cache: tuple[float, dict[str, KeyRing]] = (float("-inf"), {})

    def ring(self, parameter_name: str) -> KeyRing:
        fresh_until, rings = self._cache
        if self._clock() >= fresh_until:
            rings = {name: parse_key_ring(value) for name, value in self._source.fetch(self._names).items()}
            self._cache = (self._clock() + self._max_age, rings)
        return rings[parameter_name]

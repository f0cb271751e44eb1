"""A stage's signing-key rings in SSM Parameter Store: creating one, and rotating it safely.

`rotate`'s new key signs only once every function's cached ring has expired, so every function
knows it before any token names it; it drops only the keys no live token can name.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from infra.template import Template
from token_service.domain.key_rings import MIN_KEY_BYTES, KeyRing, SigningKey, parse_key_ring
from token_service.domain.token_codecs import CLOCK_SKEW_SECONDS

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import PutParameterRequestTypeDef

RINGS = ("access", "refresh")
# Beyond the caches' ages: clock skew between hosts, and a function that read the ring just then.
PUBLISH_MARGIN_SECONDS = 60


class KeysError(RuntimeError):
    """What the operator has to fix first; said in one line, never with a key value."""


@dataclass(frozen=True, slots=True)
class RingPolicy:
    """One ring as the deployed functions use it."""

    name: str
    token_lifetime: int  # of a token signed with one of its keys
    publish_delay: int  # after a write, until every function has read the ring


@dataclass(frozen=True, slots=True)
class Rotation:
    kid: str
    signs_from: int
    kept: int
    dropped: int


def ring_name(stage: str, ring: str) -> str:
    """The default parameter name, as `template.yaml` derives it from the stage."""
    return f"/token-service/{stage}/{ring}-keys"


def policies(template: Template) -> dict[str, RingPolicy]:
    """Both rings' names, lifetimes and publish delay, from the functions' environment in the template."""
    environment = template.function_environment("IssueFunction")
    extension_cache = int(environment.get("SSM_PARAMETER_STORE_TTL") or 0)
    delay = int(environment["KEYS_MAX_AGE"]) + extension_cache + PUBLISH_MARGIN_SECONDS
    return {
        "access": RingPolicy(environment["ACCESS_KEYS_PARAMETER"], int(environment["ACCESS_TOKEN_TTL"]), delay),
        "refresh": RingPolicy(environment["REFRESH_KEYS_PARAMETER"], int(environment["REFRESH_TOKEN_TTL"]), delay),
    }


def new_kid() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def init(ssm: SSMClient, name: str, kms_key_id: str | None = None) -> bool:
    """Create the ring if it does not exist, its key signing at once; True when it was created."""
    request: PutParameterRequestTypeDef = {
        "Name": name,
        "Value": KeyRing.single(new_kid(), secrets.token_bytes(MIN_KEY_BYTES)).to_json(),
        "Type": "SecureString",
        "Overwrite": False,
        "Description": "token-service signing-key ring",
    }
    if kms_key_id:
        request["KeyId"] = kms_key_id
    try:
        ssm.put_parameter(**request)
    except ssm.exceptions.ParameterAlreadyExists:
        return False
    return True


def rotate(ssm: SSMClient, policy: RingPolicy, now: int, *, immediately: bool = False) -> Rotation:
    """Publish a new key and drop the keys no live token can name (all others, `immediately`)."""
    ring, version = _read(ssm, policy.name)
    kid = new_kid()
    signs_from = now if immediately else now + policy.publish_delay
    kept = {} if immediately else {k: key for k, key in ring.keys.items() if still_needed(ring, k, now, policy)}
    new = SigningKey(secrets.token_bytes(MIN_KEY_BYTES), signs_from)
    _write(ssm, policy.name, KeyRing({**kept, kid: new}), version)
    return Rotation(kid, signs_from, kept=len(kept), dropped=len(ring.keys) - len(kept))


def still_needed(ring: KeyRing, kid: str, now: int, policy: RingPolicy) -> bool:
    """A key is needed while it signs or will, and for a token lifetime after the next key took over."""
    starts = ring.keys[kid].signs_from
    successors = [key.signs_from for key in ring.keys.values() if key.signs_from > starts]
    if not successors:
        return True
    return min(successors) + policy.token_lifetime + CLOCK_SKEW_SECONDS >= now


def _read(ssm: SSMClient, name: str) -> tuple[KeyRing, int]:
    try:
        stored = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        raise KeysError(f"{name}: no such key ring; create it first with `python -m infra.keys init`") from None
    # A ring in the first format has signed with its current key since it was last written.
    since = int(stored["LastModifiedDate"].timestamp())
    return parse_key_ring(stored["Value"], first_format_since=since), stored["Version"]


def _write(ssm: SSMClient, name: str, ring: KeyRing, read_version: int) -> None:
    """Overwrite the ring; keys another rotation wrote meanwhile are merged in, never lost.

    SSM has no conditional write, but each write gets the next version number: a version
    other than the one after ours means someone wrote in between.
    """
    # Without its KMS key, an overwrite would move the ring to the account's default key.
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    key_id = described[0]["KeyId"]
    while True:
        written = ssm.put_parameter(Name=name, Value=ring.to_json(), Type="SecureString", Overwrite=True, KeyId=key_id)[
            "Version"
        ]
        if written == read_version + 1:
            return
        for version in range(read_version + 1, written):
            theirs = ssm.get_parameter(Name=f"{name}:{version}", WithDecryption=True)["Parameter"]["Value"]
            ring = KeyRing({**parse_key_ring(theirs).keys, **ring.keys})
        read_version = written

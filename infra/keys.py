"""Create and rotate a stage's signing-key rings in SSM Parameter Store.

    python -m infra.keys init   --stage dev [--endpoint-url URL] [--region REGION]
    python -m infra.keys rotate --stage dev [--ring access|refresh|both]

CloudFormation cannot create SecureString parameters, so this runs before the first deploy.
`init` never overwrites a ring. `rotate` makes a new current key and keeps the previous one
for verification (tokens it signed stay valid until they expire); older keys are dropped, so
rotate at most once per refresh-token lifetime. Key values are never printed.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3

from token_service.key_rings import MIN_KEY_BYTES, KeyRing, parse_key_ring

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import PutParameterRequestTypeDef

RINGS = ("access", "refresh")


def ring_name(stage: str, ring: str) -> str:
    """The default parameter name, as `template.yaml` derives it from the stage."""
    return f"/token-service/{stage}/{ring}-keys"


def new_kid() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def new_key() -> bytes:
    return secrets.token_bytes(MIN_KEY_BYTES)


def init(ssm: SSMClient, name: str, kms_key_id: str | None = None) -> bool:
    """Create the ring if it does not exist; True when it was created."""
    kid = new_kid()
    ring = KeyRing(current_kid=kid, keys={kid: new_key()})
    request: PutParameterRequestTypeDef = {
        "Name": name,
        "Value": ring.to_json(),
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


def rotate(ssm: SSMClient, name: str) -> str:
    """Add a new current key, keep the previous current key, drop older ones; return the new kid."""
    stored = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    ring = parse_key_ring(stored["Value"])
    kid = new_kid()
    rotated = KeyRing(current_kid=kid, keys={kid: new_key(), ring.current_kid: ring.signing_key})
    ssm.put_parameter(Name=name, Value=rotated.to_json(), Type="SecureString", Overwrite=True)
    return kid


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    ssm: SSMClient = boto3.client("ssm", endpoint_url=args.endpoint_url, region_name=args.region)
    rings = RINGS if args.command == "init" or args.ring == "both" else (args.ring,)
    for ring in rings:
        name = ring_name(args.stage, ring)
        if args.command == "init":
            created = init(ssm, name, args.kms_key_id)
            print(f"{name}: {'created' if created else 'exists, kept as it is'}")
        else:
            print(f"{name}: rotated, current key is now {rotate(ssm, name)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("init", "rotate"))
    parser.add_argument("--stage", required=True, help="the template's Stage parameter, e.g. dev")
    parser.add_argument("--ring", choices=(*RINGS, "both"), default="both", help="which ring to rotate")
    parser.add_argument("--kms-key-id", help="a customer managed KMS key for new rings (default: aws/ssm)")
    parser.add_argument("--endpoint-url", help="an SSM endpoint other than AWS's, e.g. the local stack's")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    return parser


if __name__ == "__main__":
    sys.exit(main())

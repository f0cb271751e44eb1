"""Create and rotate a stage's signing-key rings in SSM Parameter Store.

    python -m infra.keys init   --stage dev [--parameter NAME=VALUE ...] [--kms-key-id KEY]
    python -m infra.keys rotate --stage dev [--parameter NAME=VALUE ...] [--ring access|refresh|both]
    python -m infra.keys rotate --stage dev --ring refresh --immediately --force   # a leaked key
    (each also takes --endpoint-url URL and --region REGION)

Ring names, lifetimes and cache ages come from `template.yaml`: pass `--parameter` for each one
your deployment overrides, so that this command and the functions agree. CloudFormation cannot
create SecureString parameters, so `init` runs before the first deploy. `rotate`'s new key signs
only once every function's cached ring has expired, so every function knows it before any token
names it. Key values are never printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import boto3

from infra.keys.rings import RINGS, KeysError, RingPolicy, init, policies, rotate
from infra.local.aws_endpoint import LOOPBACK_NAMES
from infra.local.provision import DUMMY_CREDENTIALS
from infra.template import Template, add_parameter_option

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.immediately and not args.force:
        parser.error(
            "--immediately drops every other key of the ring: every token it signed stops working "
            "(with the refresh ring, every user is logged out). Add --force if that is what you want."
        )
    try:
        # Resources need names to resolve; the key commands read none of them.
        parameters = {"Stage": args.stage, **dict(args.parameter)}
        template = Template.load(parameters=parameters, resource_names={"SessionsTable": "SessionsTable"})
    except KeyError as error:
        parser.error(f"--parameter: {error.args[0]}")
    ssm = ssm_client(args.endpoint_url, args.region, os.environ)
    rings = RINGS if args.command == "init" or args.ring == "both" else (args.ring,)
    try:
        for ring in rings:
            print(_run(ssm, args, policies(template)[ring]))
    except KeysError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def ssm_client(endpoint_url: str | None, region: str | None, environment: Mapping[str, str]) -> SSMClient:
    """SSM at `endpoint_url`; on this machine (the local stack's endpoint takes any credentials), dummy
    credentials unless the environment has some, so that boto3 never looks for real ones on the network."""
    on_this_machine = endpoint_url is not None and urlsplit(endpoint_url).hostname in LOOPBACK_NAMES
    credentials = DUMMY_CREDENTIALS if on_this_machine and not environment.get("AWS_ACCESS_KEY_ID") else {}
    return boto3.client(  # type: ignore[call-overload,no-any-return]
        "ssm",
        endpoint_url=endpoint_url,
        region_name=region,
        **{name.lower(): value for name, value in credentials.items()},
    )


def _run(ssm: SSMClient, args: argparse.Namespace, policy: RingPolicy) -> str:
    if args.command == "init":
        created = init(ssm, policy.name, args.kms_key_id)
        return f"{policy.name}: {'created' if created else 'exists, kept as it is'}"
    now = int(time.time())
    rotation = rotate(ssm, policy, now, immediately=args.immediately)
    when = datetime.fromtimestamp(rotation.signs_from, UTC).isoformat()
    return (
        f"{policy.name}: new key {rotation.kid} signs from {when} (in {rotation.signs_from - now} s); "
        f"kept {rotation.kept} key(s) live tokens may name, dropped {rotation.dropped}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("init", "rotate"))
    parser.add_argument("--stage", required=True, help="the template's Stage parameter, e.g. dev")
    add_parameter_option(
        parser, "a template parameter your deployment overrides (repeatable), e.g. AccessKeyRingName=my/ring"
    )
    parser.add_argument("--ring", choices=(*RINGS, "both"), default="both", help="which ring to rotate")
    parser.add_argument("--immediately", action="store_true", help="rotate: the new key signs at once (a leaked key)")
    parser.add_argument("--force", action="store_true", help="rotate --immediately: drop every other key")
    parser.add_argument("--kms-key-id", help="init: a customer managed KMS key for new rings (default: aws/ssm)")
    parser.add_argument("--endpoint-url", help="an SSM endpoint other than AWS's, e.g. the local stack's")
    parser.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    return parser

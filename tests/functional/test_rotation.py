"""Key rotation as a deployment lives it: warm and cold functions, live sessions, and the key command."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest

from infra.keys import command, rings
from infra.local.provision import REGION
from infra.template import Template
from tests.support.handler_calls import USER_ID, Answer, call
from tests.support.service import STAGE, Service, build_service
from token_service.config import Settings
from token_service.handlers import issue, refresh, validate

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient


class Clock:
    """Wall-clock time that a test moves; every function built on it dates tokens and ages its rings by it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def policies() -> dict[str, rings.RingPolicy]:
    return rings.policies(Template.load(parameters={"Stage": STAGE}, resource_names={"SessionsTable": "t"}))


def kid(token: str) -> str:
    value: str = jwt.get_unverified_header(token)["kid"]
    return value


def log_in(function: Service) -> Answer:
    answer = call(issue.handler, function.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    assert answer.status == 200
    return answer


def validate_status(function: Service, token: str) -> int:
    cookies = [f"accessToken={token}"]
    return call(validate.handler, function.validator, "GET", "/tokens/validate", cookies=cookies).status


def refreshed(function: Service, refresh_token: str) -> Answer:
    cookies = [f"refreshToken={refresh_token}"]
    return call(refresh.handler, function.sessions, "POST", "/tokens/refresh", cookies=cookies)


def ssm_reads(ssm: SSMClient) -> list[str]:
    reads: list[str] = []
    ssm.meta.events.register("before-call.ssm.GetParameters", lambda **_: reads.append("GetParameters"))
    return reads


def test_a_rotation_gives_no_false_401_to_warm_or_cold_functions(service: Service, settings: Settings) -> None:
    # Every token is minted within the last few minutes of real time, so that pyjwt's own
    # clock finds none expired or issued in the future.
    start = int(time.time()) - 500
    clock = Clock(start)
    warm = build_service(settings, service.ssm, service.dynamodb, clock=clock)
    sessions = [log_in(warm)]
    old_kids = {kid(sessions[0].cookie_value(name)) for name in ("accessToken", "refreshToken")}
    assert validate_status(warm, sessions[0].cookie_value("accessToken")) == 200

    rotated_at = start + 5
    for policy in policies().values():
        rings.rotate(service.ssm, policy, rotated_at)
    switch = rotated_at + policies()["access"].publish_delay

    signing_kids = []
    for moment in (rotated_at + 1, rotated_at + 200, switch - 1, switch, switch + 100):
        clock.now = moment
        cold = build_service(settings, service.ssm, service.dynamodb, clock=clock)
        sessions.append(log_in(cold))
        signing_kids.append(kid(sessions[-1].cookie_value("accessToken")))
        for number, answer in enumerate(sessions):
            for function in (warm, cold):
                assert validate_status(function, answer.cookie_value("accessToken")) == 200, (moment - start, number)
            carried_on = refreshed(warm if number % 2 else cold, answer.cookie_value("refreshToken"))
            assert carried_on.status == 200, (moment - start, number)
            sessions[number] = carried_on

    assert set(signing_kids[:3]) <= old_kids, "the new key signs nothing before its time"
    assert not set(signing_kids[3:]) & old_kids, "from its time on, the new key signs"


def test_a_token_naming_a_kid_the_cached_ring_lacks_rereads_the_ring_once(service: Service, settings: Settings) -> None:
    warm = build_service(settings, service.ssm, service.dynamodb)
    assert validate_status(warm, log_in(warm).cookie_value("accessToken")) == 200
    reads = ssm_reads(service.ssm)
    rings.rotate(service.ssm, policies()["access"], int(time.time()), immediately=True)
    cold = build_service(settings, service.ssm, service.dynamodb)
    token = log_in(cold).cookie_value("accessToken")
    reads.clear()

    assert validate_status(warm, token) == 200, "the warm function learns the key it lacked"
    forged = [f"{jwt.encode({}, 'k' * 32, headers={'kid': f'forged-{n}'})}" for n in range(20)]
    assert [validate_status(warm, token) for token in forged] == [401] * 20
    assert reads == ["GetParameters"], "forged kids cause no further reads"


def test_rotating_twice_within_a_session_lifetime_keeps_every_session_refreshable(
    service: Service, settings: Settings
) -> None:
    start = int(time.time()) - 2000
    clock = Clock(start)
    function = build_service(settings, service.ssm, service.dynamodb, clock=clock)
    refresh_token = log_in(function).cookie_value("refreshToken")
    policy = policies()["refresh"]
    for rotation in (start + 1, start + policy.publish_delay + 10):
        rings.rotate(service.ssm, policy, rotation)

    clock.now = start + 2 * policy.publish_delay + 20
    later = build_service(settings, service.ssm, service.dynamodb, clock=clock)
    assert refreshed(later, refresh_token).status == 200
    assert len(ring_keys(service.ssm, policy.name)) == 3


def test_a_key_is_dropped_once_no_token_signed_with_it_can_be_alive(service: Service, settings: Settings) -> None:
    policy = policies()["access"]
    first = set(ring_keys(service.ssm, policy.name))
    now = int(time.time())
    rings.rotate(service.ssm, policy, now)
    second_switch = now + policy.publish_delay

    rings.rotate(service.ssm, policy, second_switch + policy.token_lifetime - 10)
    assert first <= set(ring_keys(service.ssm, policy.name)), "its tokens may still be alive"
    rings.rotate(service.ssm, policy, second_switch + policy.token_lifetime + 60)
    assert not first & set(ring_keys(service.ssm, policy.name)), "none of its tokens can be alive"


def ring_keys(ssm: SSMClient, name: str) -> dict[str, Any]:
    keys: dict[str, Any] = json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])["keys"]
    return keys


def test_rotate_honours_the_templates_ring_name_overrides(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    rings.init(service.ssm, "/acme/access-ring")
    before = set(ring_keys(service.ssm, "/acme/access-ring"))

    code = command.main(
        ["rotate", "--stage", STAGE, "--ring", "access", "--parameter", "AccessKeyRingName=acme/access-ring"]
    )

    assert code == 0
    assert len(set(ring_keys(service.ssm, "/acme/access-ring")) - before) == 1
    assert "/acme/access-ring: new key" in capsys.readouterr().out


def test_rotate_keeps_the_rings_customer_managed_kms_key(service: Service) -> None:
    rings.init(service.ssm, "/acme/cmk-ring", kms_key_id="alias/acme-keys")
    rings.rotate(service.ssm, rings.RingPolicy("/acme/cmk-ring", 600, 360), int(time.time()))

    (described,) = service.ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["/acme/cmk-ring"]}])[
        "Parameters"
    ]
    assert described["KeyId"] == "alias/acme-keys"


def test_rotating_a_missing_ring_says_so_without_a_traceback(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    code = command.main(["rotate", "--stage", "nosuchstage"])

    error = capsys.readouterr().err
    assert code == 1
    assert error == (
        "error: /token-service/nosuchstage/access-keys: no such key ring; "
        "create it first with `python -m infra.keys init`\n"
    )


def test_two_concurrent_rotations_lose_no_key(service: Service) -> None:
    policy = policies()["access"]
    other_operator: SSMClient = boto3.client("ssm", region_name=REGION)
    theirs: list[str] = []

    def rotate_in_between(**_: object) -> None:
        """Another operator's rotation lands between this rotation's read and its write."""
        if not theirs:
            theirs.append(rings.rotate(other_operator, policy, int(time.time())).kid)

    service.ssm.meta.events.register("before-call.ssm.PutParameter", rotate_in_between)
    mine = rings.rotate(service.ssm, policy, int(time.time())).kid

    assert {mine, *theirs} <= set(ring_keys(service.ssm, policy.name))
    assert len(theirs) == 1


def test_rotating_immediately_needs_force_and_then_drops_every_other_key(
    service: Service, capsys: pytest.CaptureFixture[str]
) -> None:
    name = policies()["refresh"].name
    before = set(ring_keys(service.ssm, name))
    with pytest.raises(SystemExit) as refused:
        command.main(["rotate", "--stage", STAGE, "--ring", "refresh", "--immediately"])
    assert refused.value.code == 2
    assert "every user is logged out" in capsys.readouterr().err
    assert set(ring_keys(service.ssm, name)) == before

    assert command.main(["rotate", "--stage", STAGE, "--ring", "refresh", "--immediately", "--force"]) == 0
    after = ring_keys(service.ssm, name)
    assert len(after) == 1 and not before & set(after)


def test_the_key_commands_never_print_a_key(service: Service, capsys: pytest.CaptureFixture[str]) -> None:
    command.main(["init", "--stage", "fresh"])
    command.main(["rotate", "--stage", "fresh"])
    output = capsys.readouterr()

    for ring in ("access", "refresh"):
        for entry in ring_keys(service.ssm, f"/token-service/fresh/{ring}-keys").values():
            assert entry["key"] not in output.out + output.err

"""Log lines of a full flow, failures included: the promised fields, and never a secret."""

from __future__ import annotations

import io
import json

from botocore.stub import Stubber

from tests.support.handler_calls import USER_ID, call
from tests.support.service import Service
from token_service.domain.key_rings import parse_key_ring
from token_service.handlers import issue, refresh, revoke, validate


def full_flow(service: Service) -> set[str]:
    """Every route, every kind of answer; returns every secret the flow handled."""
    issued = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    access, old_refresh = issued.cookie_value("accessToken"), issued.cookie_value("refreshToken")
    call(validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={access}"])
    call(validate.handler, service.validator, "GET", "/tokens/validate", cookies=[f"accessToken={access}x"])
    call(validate.handler, service.validator, "GET", "/tokens/validate", headers={"authorization": f"Bearer {access}"})
    rotated = call(
        refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={old_refresh}"]
    )
    call(refresh.handler, service.sessions, "POST", "/tokens/refresh", cookies=[f"refreshToken={old_refresh}"])
    call(refresh.handler, service.sessions, "POST", "/tokens/refresh", json_body={"refreshToken": old_refresh + "x"})
    second = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    with Stubber(service.dynamodb) as dynamodb:
        dynamodb.add_client_error("update_item", service_error_code="ThrottlingException")
        second_refresh = second.cookie_value("refreshToken")
        call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={second_refresh}"])
    call(revoke.handler, service.revocation, "POST", "/tokens/revoke", cookies=[f"refreshToken={second_refresh}"])
    call(issue.handler, service.sessions, "POST", "/tokens", body=b'{"id": "' + access.encode() + b'\\n"}')

    secrets = {access, old_refresh, second_refresh, second.cookie_value("accessToken")}
    secrets |= {rotated.cookie_value("accessToken"), rotated.cookie_value("refreshToken")}
    secrets |= {token.split(".")[2] for token in list(secrets)}  # signatures alone
    for parameter in service.ssm.describe_parameters()["Parameters"]:
        value = service.ssm.get_parameter(Name=parameter["Name"], WithDecryption=True)["Parameter"]["Value"]
        encoded_keys = [entry["key"] for entry in json.loads(value)["keys"].values()]
        secrets |= {value, *encoded_keys, *(key.secret.hex() for key in parse_key_ring(value).keys.values())}
    return secrets


def test_a_full_flow_logs_every_request_with_its_outcome_and_no_secret(
    service: Service, log_output: io.StringIO
) -> None:
    secrets = full_flow(service)
    output = log_output.getvalue()

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    requests = [line for line in lines if line["message"] == "request"]
    assert [line["outcome"] for line in requests] == [
        "issued",
        "validated",
        "rejected:access_token_invalid",
        "validated",
        "rotated",
        "rejected:reuse_detected",
        "rejected:refresh_token_invalid",
        "issued",
        "dependency_failure",
        "revoked",
        "rejected:id_invalid",
    ]
    for line in requests:
        assert {"service", "level", "timestamp", "route", "status", "outcome", "request_id"} <= line.keys()
    assert {
        line["user_id"] for line in requests if line["outcome"] in {"issued", "validated", "rotated", "revoked"}
    } == {USER_ID}
    assert any(line["message"] == "dependency unavailable" for line in lines), "a failure leaves a log line"
    leaked = [secret for secret in secrets if secret in output]
    assert leaked == []

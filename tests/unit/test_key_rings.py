"""Key rings as stored in SSM: their JSON shapes, which key signs when, and what is refused."""

from __future__ import annotations

import base64
import json
import time

import pytest

from token_service.domain.key_rings import KeyRing, MalformedKeyRing, SigningKey, parse_key_ring


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"current": "a"}',
        '{"current": "a", "keys": {}}',
        '{"current": "a", "keys": {"b": "' + "k" * 43 + '"}}',
        '{"current": "a", "keys": {"a": 5}}',
        '{"current": "a", "keys": {"a": "!!!"}}',
        json.dumps({"current": "a", "keys": {"a": base64.urlsafe_b64encode(b"short").decode()}}),
        '{"keys": {}}',
        '{"keys": {"a": "' + "k" * 43 + '"}}',
        '{"keys": {"a": {"key": "' + "k" * 43 + '"}}}',
        '{"keys": {"a": {"key": "' + "k" * 43 + '", "signsFrom": "0"}}}',
        '{"keys": {"a": {"key": "' + "k" * 43 + '", "signsFrom": true}}}',
        '{"keys": {"a": {"key": "short", "signsFrom": 0}}}',
    ],
)
def test_malformed_key_rings_are_refused(raw: str) -> None:
    with pytest.raises(MalformedKeyRing):
        parse_key_ring(raw)


def test_a_ring_survives_its_own_json_round_trip() -> None:
    ring = KeyRing({"k2": SigningKey(b"a" * 32, 1_800_000_000), "k1": SigningKey(b"b" * 40, 0)})
    assert parse_key_ring(ring.to_json()) == ring


def test_the_key_that_signs_is_the_latest_whose_time_has_come() -> None:
    ring = KeyRing({"old": SigningKey(b"o" * 32, 100), "new": SigningKey(b"n" * 32, 200)})
    assert [ring.signer(now)[0] for now in (100, 199, 200, 10**10)] == ["old", "old", "new", "new"]
    with pytest.raises(MalformedKeyRing):
        ring.signer(99)


def test_a_ring_in_the_first_format_signs_with_its_current_key_and_verifies_with_all() -> None:
    first = json.dumps({"current": "b", "keys": {"a": "a" * 43, "b": "b" * 43}})
    ring = parse_key_ring(first)
    assert ring.signer(int(time.time()))[0] == "b"
    assert ring.verification_key("a") is not None

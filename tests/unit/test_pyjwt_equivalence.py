"""`tokens.ServiceJWT` answers every token exactly as stock pyjwt does with the same options.

It moves two of pyjwt's per-token costs (the segment alphabet check, the HMAC key checks); these
tests hold it to pyjwt's own answers: the same claims, or the same error, for valid tokens and
for tokens and segments bent every way hypothesis finds.
"""

from __future__ import annotations

import base64
import time

import hypothesis
import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from token_service.tokens import ALGORITHM, COMMON_CLAIMS, ServiceJWT

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
ISSUER, AUDIENCE = "token-service-test", "token-service-test-api"
# Segments are sliced out of tokens as bytes; these are the bytes that matter to base64url.
SEGMENT_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. \x00\xff"
run = hypothesis.settings(max_examples=400, deadline=None)


def stock() -> jwt.PyJWT:
    return jwt.PyJWT(options={"require": list(COMMON_CLAIMS)})


def claims(now: int) -> dict[str, object]:
    return {
        "id": "u-1",
        "sub": "u-1",
        "iat": now,
        "exp": now + 600,
        "jti": "t-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "access",
    }


def answer(decoder: jwt.PyJWT, token: str, key: bytes) -> object:
    """The claims, or the error's type and words."""
    try:
        return decoder.decode(token, key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER, leeway=5)
    except jwt.PyJWTError as error:
        return (type(error), str(error))


VALID = jwt.encode(claims(int(time.time())), KEY, algorithm=ALGORITHM, headers={"kid": "k1"})


def test_a_valid_token_decodes_to_the_same_claims() -> None:
    assert answer(ServiceJWT(COMMON_CLAIMS), VALID, KEY) == answer(stock(), VALID, KEY) == claims_of(VALID)


def claims_of(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_it_mints_the_very_bytes_pyjwt_mints() -> None:
    document = claims(1_800_000_000)
    ours = ServiceJWT(COMMON_CLAIMS).encode(document, KEY, algorithm=ALGORITHM, headers={"kid": "k1"})

    assert ours == jwt.encode(document, KEY, algorithm=ALGORITHM, headers={"kid": "k1"})


@run
@given(segment=st.binary(max_size=48).map(lambda raw: bytes(SEGMENT_BYTES[b % len(SEGMENT_BYTES)] for b in raw)))
def test_a_segment_decodes_or_fails_exactly_as_in_pyjwt(segment: bytes) -> None:
    def decoded(decode: object) -> object:
        try:
            return decode(segment, "payload")  # type: ignore[operator]
        except jwt.DecodeError as error:
            return str(error)

    ours = decoded(ServiceJWT(COMMON_CLAIMS)._jws._decode_base64url_segment)
    assert ours == decoded(jwt.PyJWS._decode_base64url_segment)


@run
@given(
    position=st.integers(min_value=0, max_value=len(VALID)),
    removed=st.integers(min_value=0, max_value=3),
    inserted=st.text(alphabet=SEGMENT_BYTES.decode("latin-1"), max_size=3),
    key=st.sampled_from([KEY, OTHER_KEY]),
)
def test_a_bent_token_gets_pyjwts_own_answer(position: int, removed: int, inserted: str, key: bytes) -> None:
    token = VALID[:position] + inserted + VALID[position + removed :]

    assert answer(ServiceJWT(COMMON_CLAIMS), token, key) == answer(stock(), token, key)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512", "none"])
def test_it_knows_no_algorithm_but_hs256(algorithm: str) -> None:
    token = jwt.encode(claims(int(time.time())), "" if algorithm == "none" else KEY * 2, algorithm=algorithm)

    with pytest.raises(jwt.InvalidAlgorithmError):
        ServiceJWT(COMMON_CLAIMS).decode(token, KEY, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER)


def test_a_key_pyjwt_refuses_is_refused_on_every_call() -> None:
    """Keys are checked once each, but a refused key is never remembered as checked."""
    pem_shaped = b"-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(bytes(64)) + b"\n-----END PUBLIC KEY-----\n"
    codec = ServiceJWT(COMMON_CLAIMS)
    for _ in range(2):
        with pytest.raises(jwt.InvalidKeyError):
            codec.encode(claims(1_800_000_000), pem_shaped, algorithm=ALGORITHM)
        with pytest.raises(jwt.InvalidKeyError):
            codec.decode(VALID, pem_shaped, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER)

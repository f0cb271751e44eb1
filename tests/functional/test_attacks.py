"""An attack corpus against the token checks, through the real handlers on moto.

Every forged token below refers to a live session (the refresh ones carry its real `sid` and
current `jti`), so the signature and claim checks are the only thing between the attacker and a
200: a check that gave way would show up as a 200 or a 419, never as a vague failure. Each
rejection must be the contract's 401 with its exact body, no cookies, and never a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from tests.support.handler_calls import USER_ID, Answer, call, expected_body
from tests.support.service import TABLE_NAME, Service
from token_service.config import Settings
from token_service.domain.key_rings import KeyRing, parse_key_ring
from token_service.domain.token_codecs import COMMON_CLAIMS, MAX_TOKEN_LENGTH
from token_service.domain.values import TokenUse
from token_service.handlers import issue, refresh, revoke, validate
from token_service.http_api import messages
from token_service.http_api.request import MAX_BODY_BYTES

ACCESS = TokenUse.ACCESS
REFRESH = TokenUse.REFRESH
BOTH = [pytest.param(ACCESS, id="access"), pytest.param(REFRESH, id="refresh")]
COOKIE = {ACCESS: "accessToken", REFRESH: "refreshToken"}
INVALID = {
    ACCESS: expected_body("errorMessage", messages.ACCESS_TOKEN_INVALID),
    REFRESH: expected_body("errorMessage", messages.REFRESH_TOKEN_INVALID),
}
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(document: object) -> str:
    return b64url(json.dumps(document, separators=(",", ":")).encode())


def hmac_sign(signing_input: str, key: bytes, digest: Callable[[], Any] = hashlib.sha256) -> str:
    return b64url(hmac.new(key, signing_input.encode(), digest).digest())


def without(document: Mapping[str, object], name: str) -> dict[str, object]:
    return {key: value for key, value in document.items() if key != name}


def parts(token: str) -> tuple[str, str, str]:
    header, payload, signature = token.split(".")
    return header, payload, signature


@dataclass(frozen=True)
class Kit:
    """A live session, the real rings, and a forger that signs whatever it is told to."""

    service: Service
    settings: Settings
    rings: Mapping[TokenUse, KeyRing]
    issued: Mapping[TokenUse, str]

    def claims(self, use: TokenUse, **changes: object) -> dict[str, object]:
        """The issued token's claims, with `changes` applied."""
        claims: dict[str, object] = jwt.decode(self.issued[use], options={"verify_signature": False})
        return {**claims, **changes}

    def header(self, use: TokenUse, **changes: object) -> dict[str, object]:
        """The header the service writes, with `changes` applied."""
        return {"alg": "HS256", "typ": "JWT", "kid": self.kid(use), **changes}

    def kid(self, use: TokenUse) -> str:
        return self.rings[use].signer(int(time.time()))[0]

    def key(self, use: TokenUse) -> bytes:
        return self.rings[use].signer(int(time.time()))[1]

    def forge(
        self,
        use: TokenUse,
        *,
        header: Mapping[str, object] | None = None,
        claims: Mapping[str, object] | None = None,
        key: bytes | None = None,
        digest: Callable[[], Any] = hashlib.sha256,
    ) -> str:
        """header.payload.HMAC(key, header.payload): by default the use's real key over honest claims."""
        header_segment = segment(self.header(use) if header is None else header)
        payload_segment = segment(self.claims(use) if claims is None else claims)
        signing_input = f"{header_segment}.{payload_segment}"
        return f"{signing_input}.{hmac_sign(signing_input, self.key(use) if key is None else key, digest)}"

    def present(self, use: TokenUse, token: str) -> dict[str, Answer]:
        """The token through both of its route's channels: the cookie, and the bearer header or JSON body."""
        if use is ACCESS:
            return {
                "cookie": self.validate(cookies=[f"accessToken={token}"]),
                "bearer": self.validate(headers={"authorization": f"Bearer {token}"}),
            }
        return {
            "cookie": self.refresh(cookies=[f"refreshToken={token}"]),
            "body": self.refresh(json_body={"refreshToken": token}),
        }

    def validate(self, *, cookies: list[str] | None = None, headers: Mapping[str, str] | None = None) -> Answer:
        return call(
            validate.handler, self.service.validator, "GET", "/tokens/validate", cookies=cookies or (), headers=headers
        )

    def refresh(self, *, cookies: list[str] | None = None, json_body: object = None) -> Answer:
        return call(
            refresh.handler,
            self.service.sessions,
            "POST",
            "/tokens/refresh",
            cookies=cookies or (),
            json_body=json_body,
        )

    def session_item(self) -> dict[str, Any]:
        """The stored session the issued refresh token belongs to."""
        key = {"sessionId": {"S": str(self.claims(REFRESH)["sid"])}}
        return dict(self.service.dynamodb.get_item(TableName=TABLE_NAME, Key=key, ConsistentRead=True)["Item"])

    def all_sessions(self) -> list[dict[str, Any]]:
        return list(self.service.dynamodb.scan(TableName=TABLE_NAME)["Items"])


def ring_of(service: Service, parameter: str) -> KeyRing:
    return parse_key_ring(service.ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"])


def log_in(service: Service) -> Answer:
    answer = call(issue.handler, service.sessions, "POST", "/tokens", json_body={"id": USER_ID})
    assert answer.status == 200
    return answer


@pytest.fixture
def kit(service: Service, settings: Settings) -> Kit:
    issued = log_in(service)
    return Kit(
        service=service,
        settings=settings,
        rings={
            ACCESS: ring_of(service, settings.access_keys_parameter),
            REFRESH: ring_of(service, settings.refresh_keys_parameter),
        },
        issued={ACCESS: issued.cookie_value("accessToken"), REFRESH: issued.cookie_value("refreshToken")},
    )


def assert_rejected(kit: Kit, use: TokenUse, token: str) -> None:
    for channel, answer in kit.present(use, token).items():
        assert (answer.status, answer.body, list(answer.cookies)) == (401, INVALID[use], []), channel


# --- the forger itself is honest: what it signs without tampering is accepted ---------------------


def test_an_honest_forgery_with_the_real_key_is_accepted_so_the_corpus_means_something(kit: Kit) -> None:
    access = kit.present(ACCESS, kit.forge(ACCESS))
    assert {channel: answer.status for channel, answer in access.items()} == {"cookie": 200, "bearer": 200}
    assert access["cookie"].body == expected_body("message", messages.validated(USER_ID))

    rotated = kit.refresh(cookies=[f"refreshToken={kit.forge(REFRESH)}"])
    assert rotated.status == 200


# --- the corpus: each entry builds one hostile token for a use ---------------------------------------

Attack = Callable[[Kit, TokenUse], str]


def now() -> int:
    return int(time.time())


def alg_none(alg: str, *, signed: bool) -> Attack:
    def attack(kit: Kit, use: TokenUse) -> str:
        if signed:  # a genuine HMAC under the real key: the label alone must sink it
            return kit.forge(use, header=kit.header(use, alg=alg))
        return f"{segment(kit.header(use, alg=alg))}.{segment(kit.claims(use))}."

    return attack


def key_confusion(alg: str, *, as_text: bool) -> Attack:
    """An asymmetric alg, "verified" with the HMAC key bytes (or their stored text) as if they were a public key."""

    def attack(kit: Kit, use: TokenUse) -> str:
        key = b64url(kit.key(use)).encode() if as_text else kit.key(use)
        return kit.forge(use, header=kit.header(use, alg=alg), key=key)

    return attack


def other_hmac(alg: str, digest: Callable[[], Any]) -> Attack:
    return lambda kit, use: kit.forge(use, header=kit.header(use, alg=alg), digest=digest)


def with_header(**changes: object) -> Attack:
    return lambda kit, use: kit.forge(use, header=kit.header(use, **changes))


def without_header(name: str) -> Attack:
    return lambda kit, use: kit.forge(use, header=without(kit.header(use), name))


def with_claims(**changes: object) -> Attack:
    return lambda kit, use: kit.forge(use, claims=kit.claims(use, **changes))


def with_timed_claims(**offsets: int) -> Attack:
    """Time claims relative to the moment of the attack (offsets in seconds)."""
    return lambda kit, use: kit.forge(use, claims=kit.claims(use, **{k: now() + v for k, v in offsets.items()}))


def without_claim(name: str) -> Attack:
    return lambda kit, use: kit.forge(use, claims=without(kit.claims(use), name))


def stripped_signature(kit: Kit, use: TokenUse) -> str:
    header, payload, _ = parts(kit.issued[use])
    return f"{header}.{payload}."


def two_segments(kit: Kit, use: TokenUse) -> str:
    header, payload, _ = parts(kit.issued[use])
    return f"{header}.{payload}"


def signature_of_another_token(kit: Kit, use: TokenUse) -> str:
    """A genuine signature, made by the real key, but over other claims (another jti)."""
    header, payload, _ = parts(kit.issued[use])
    _, _, foreign = parts(kit.forge(use, claims=kit.claims(use, jti="another-token")))
    return f"{header}.{payload}.{foreign}"


def tampered_payload(kit: Kit, use: TokenUse) -> str:
    header, _, signature = parts(kit.issued[use])
    return f"{header}.{segment(kit.claims(use, id='admin', sub='admin'))}.{signature}"


def tampered_kid(kit: Kit, use: TokenUse) -> str:
    other = ACCESS if use is REFRESH else REFRESH
    _, payload, signature = parts(kit.issued[use])
    return f"{segment(kit.header(use, kid=kit.kid(other)))}.{payload}.{signature}"


def reserialised_header(kit: Kit, use: TokenUse) -> str:
    """The same header JSON, spaced differently: the signature covers bytes, not meaning."""
    _, payload, signature = parts(kit.issued[use])
    header = jwt.get_unverified_header(kit.issued[use])
    return f"{b64url(json.dumps(header, indent=1).encode())}.{payload}.{signature}"


def use_of_the_other_kind(kit: Kit, use: TokenUse) -> str:
    """The genuine token of the other use: a refresh token at /validate, an access token at /refresh."""
    return kit.issued[ACCESS if use is REFRESH else REFRESH]


def other_claims_under_this_ring(kit: Kit, use: TokenUse) -> str:
    """The other use's claims, signed with this use's real key and kid: only `token_use` stands in the way."""
    other = ACCESS if use is REFRESH else REFRESH
    return kit.forge(use, claims=kit.claims(other))


def signed_by_the_other_ring(kit: Kit, use: TokenUse) -> str:
    """This use's claims, signed with the other ring's real key under its own kid."""
    other = ACCESS if use is REFRESH else REFRESH
    return kit.forge(use, header=kit.header(other), key=kit.key(other))


def foreign_key_current_kid(kit: Kit, use: TokenUse) -> str:
    return kit.forge(use, key=secrets.token_bytes(32))


def foreign_key_foreign_kid(kit: Kit, use: TokenUse) -> str:
    return kit.forge(use, header=kit.header(use, kid="attacker-2026"), key=secrets.token_bytes(32))


def embedded_jwk(kit: Kit, use: TokenUse) -> str:
    """The attacker's key carried in the header (CVE-2018-0114 style) and used to sign."""
    attacker = secrets.token_bytes(32)
    header = kit.header(use, jwk={"kty": "oct", "k": b64url(attacker), "kid": kit.kid(use)})
    return kit.forge(use, header=header, key=attacker)


def remote_key_url(kit: Kit, use: TokenUse) -> str:
    attacker = secrets.token_bytes(32)
    return kit.forge(use, header=kit.header(use, jku="https://attacker.example/jwks.json"), key=attacker)


def five_segments(kit: Kit, use: TokenUse) -> str:
    """JWE-shaped: five segments, the last four a genuine token's payload and signature spread out."""
    header, payload, signature = parts(kit.issued[use])
    return f"{header}.{payload}.{payload}.{signature}.{signature}"


def non_ascii_in_payload(kit: Kit, use: TokenUse) -> str:
    header, payload, signature = parts(kit.issued[use])
    return f"{header}.{payload}é.{signature}"


def standard_alphabet_signature(kit: Kit, use: TokenUse) -> str:
    """A genuine token whose signature is re-spelt in the standard base64 alphabet (+ and / for - and _)."""
    for attempt in range(200):
        token = kit.forge(use, claims=kit.claims(use, nonce=attempt))
        header, payload, signature = parts(token)
        if "-" in signature or "_" in signature:
            return f"{header}.{payload}.{signature.replace('-', '+').replace('_', '/')}"
    raise AssertionError("no signature with - or _ in 200 tries")


def junk_inside_signature(kit: Kit, use: TokenUse) -> str:
    header, payload, signature = parts(kit.issued[use])
    return f"{header}.{payload}.{signature[:20]}!{signature[20:]}"


def signature_with_space(kit: Kit, use: TokenUse) -> str:
    header, payload, signature = parts(kit.issued[use])
    return f"{header}.{payload}.{signature[:20]} {signature[20:]}"


def hostile_kid(kid: object) -> Attack:
    """A kid the ring does not hold, on a token otherwise signed with the real key."""
    return lambda kit, use: kit.forge(use, header=kit.header(use, kid=kid))


HOSTILE_KIDS: list[tuple[str, object]] = [
    ("kid path traversal", "../../etc/passwd"),
    ("kid SQL injection", "' OR 1=1 --"),
    ("kid 10000 characters", "k" * 10_000),
    ("kid 2500 characters, under the length cap", "k" * 2_500),
    ("kid a number", 12345),
    ("kid null", None),
    ("kid an object", {"$ne": ""}),
    ("kid an array", ["k"]),
    ("kid empty", ""),
    ("kid naming the ring's own field", "current"),
    ("kid unknown", "unknown-kid"),
]

NONE_SPELLINGS = ("none", "None", "NONE", "nOnE")

COMMON_ATTACKS: list[tuple[str, Attack]] = [
    *((f"alg {alg}, no signature", alg_none(alg, signed=False)) for alg in NONE_SPELLINGS),
    *((f"alg {alg}, HMAC signature", alg_none(alg, signed=True)) for alg in NONE_SPELLINGS),
    *(
        (f"alg {alg}, HMAC with the key {'text' if as_text else 'bytes'}", key_confusion(alg, as_text=as_text))
        for alg in ("RS256", "ES256", "PS256")
        for as_text in (False, True)
    ),
    ("HS512 with the real key", other_hmac("HS512", hashlib.sha512)),
    ("HS384 with the real key", other_hmac("HS384", hashlib.sha384)),
    ("alg hs256 lower case", with_header(alg="hs256")),
    ("alg missing", without_header("alg")),
    ("signature stripped", stripped_signature),
    ("signature segment missing", two_segments),
    ("signature of another token", signature_of_another_token),
    ("payload tampered, old signature", tampered_payload),
    ("kid tampered, old signature", tampered_kid),
    ("header re-serialised, old signature", reserialised_header),
    ("expired a minute ago", with_timed_claims(iat=-700, exp=-60)),
    ("expired just beyond the leeway", with_timed_claims(iat=-700, exp=-6)),
    ("iat in the future", with_timed_claims(iat=60, exp=660)),
    ("nbf in the future", with_timed_claims(nbf=60)),
    ("iat not a number", with_claims(iat="yesterday")),
    ("exp not a number", with_claims(exp="never")),
    ("exp infinite", with_claims(exp=1e400)),
    ("wrong iss", with_claims(iss="https://attacker.example")),
    ("wrong aud", with_claims(aud="someone-else")),
    ("aud list without ours", with_claims(aud=["someone-else"])),
    *((f"{name} missing", without_claim(name)) for name in COMMON_CLAIMS),
    ("id differs from sub", with_claims(id="admin")),
    ("sub differs from id", with_claims(sub="admin")),
    ("id and sub numbers", with_claims(id=64, sub=64)),
    ("id null", with_claims(id=None)),
    ("id and sub arrays", with_claims(id=[USER_ID], sub=[USER_ID])),
    ("jti a number", with_claims(jti=7)),
    ("token_use ACCESS", with_claims(token_use="ACCESS")),
    ("token_use empty", with_claims(token_use="")),
    ("token_use null", with_claims(token_use=None)),
    ("token_use array", with_claims(token_use=["access", "refresh"])),
    ("the genuine token of the other use", use_of_the_other_kind),
    ("other use's claims under this ring's key", other_claims_under_this_ring),
    ("signed by the other ring", signed_by_the_other_ring),
    ("key not in the ring, current kid", foreign_key_current_kid),
    ("key not in the ring, its own kid", foreign_key_foreign_kid),
    ("attacker key embedded as jwk", embedded_jwk),
    ("attacker key by jku", remote_key_url),
    ("unknown critical header", with_header(crit=["exp"])),
    ("b64 false (unencoded payload)", with_header(b64=False)),
    ("five segments", five_segments),
    ("non-ASCII character in a segment", non_ascii_in_payload),
    ("signature in the standard base64 alphabet", standard_alphabet_signature),
    ("non-alphabet junk inside the signature", junk_inside_signature),
    ("space inside the signature", signature_with_space),
    *((name, hostile_kid(kid)) for name, kid in HOSTILE_KIDS),
    ("kid missing", without_header("kid")),
    ("a lone dot", lambda kit, use: "."),
    ("two dots", lambda kit, use: ".."),
]

REFRESH_ONLY_ATTACKS: list[tuple[str, Attack]] = [
    ("sid missing", without_claim("sid")),
    ("sid a number", with_claims(sid=12345)),
    ("sid null", with_claims(sid=None)),
    ("sid an array", with_claims(sid=["a", "b"])),
    ("token_use access, with sid", with_claims(token_use="access")),
]


@pytest.mark.parametrize("use", BOTH)
def test_every_attack_in_the_corpus_is_401(kit: Kit, use: TokenUse, subtests: pytest.Subtests) -> None:
    """One live session, every attack against it in turn (a subtest each), through both channels."""
    before = kit.session_item()
    attacks = COMMON_ATTACKS + (REFRESH_ONLY_ATTACKS if use is REFRESH else [])
    for name, attack in attacks:
        with subtests.test(msg=name):
            assert_rejected(kit, use, attack(kit, use))

    assert kit.session_item() == before, "no attack rotated or revoked the session"


def test_an_access_token_carrying_a_session_claim_still_cannot_refresh(kit: Kit) -> None:
    """Access claims plus the live session's `sid` and current `jti`, signed by the access ring."""
    refresh_claims = kit.claims(REFRESH)
    token = kit.forge(ACCESS, claims=kit.claims(ACCESS, sid=refresh_claims["sid"], jti=refresh_claims["jti"]))

    assert_rejected(kit, REFRESH, token)


# --- base64url spelling: the same bytes, written differently ---------------------------------------


def flip_trailing_bits(text: str) -> str:
    """The last character with its unused low bits set: decodes to the same bytes, if decoders are lax."""
    last = BASE64URL.index(text[-1])
    unused_bits = {2: 4, 3: 2}[len(text) % 4]  # 1 leftover byte leaves 4 unused bits, 2 leave 2
    return text[:-1] + BASE64URL[last | ((1 << unused_bits) - 1)]


@pytest.mark.parametrize("use", BOTH)
def test_non_canonical_trailing_bits_in_the_signature_are_401(kit: Kit, use: TokenUse) -> None:
    """A signature whose last base64url character differs only in bits that carry no data.

    Lax base64 decoders read it as the very same signature bytes, which would make one token
    spellable several ways. The pyjwt pinned in functions/requirements.txt re-encodes each
    decoded segment and refuses a spelling that is not canonical, so this is a 401; the test
    guards that against a pin moved back. It would not be a forgery even if accepted: the HMAC
    still covers the exact header.payload bytes, so no claim can change.
    """
    header, payload, signature = parts(kit.issued[use])
    twin = flip_trailing_bits(signature)
    assert twin != signature and unb64url(twin) == unb64url(signature), "the premise: same bytes, other spelling"

    assert_rejected(kit, use, f"{header}.{payload}.{twin}")


def padded(text: str) -> str:
    """`=` padding to a multiple of four (or one stray `=` when none is due)."""
    return text + "=" * (-len(text) % 4 or 1)


@pytest.mark.parametrize("use", BOTH)
def test_padding_added_to_the_header_or_payload_is_401(kit: Kit, use: TokenUse) -> None:
    """`=` on a signed segment changes the signing input itself, so the HMAC no longer matches
    (or, where no padding is due, the segment is malformed)."""
    header, payload, signature = parts(kit.issued[use])

    assert_rejected(kit, use, f"{padded(header)}.{payload}.{signature}")
    assert_rejected(kit, use, f"{header}.{padded(payload)}.{signature}")


@pytest.mark.parametrize("use", BOTH)
def test_a_padded_signature_is_401_so_a_token_has_one_spelling(kit: Kit, use: TokenUse) -> None:
    """`header.payload.signature=` decodes to the same signature bytes (pyjwt accepts the `=`, as
    AWS ALB sends it). Nothing here is keyed on the token string, but a second spelling of one
    token serves no client of ours, so only canonical base64url is accepted.
    """
    padded_token = kit.issued[use] + "="
    assert unb64url(parts(padded_token)[2].rstrip("=")) == unb64url(parts(kit.issued[use])[2])

    assert_rejected(kit, use, padded_token)


# --- size ---------------------------------------------------------------------------------------


def padded_to(kit: Kit, use: TokenUse, size: int) -> str:
    """A genuinely signed token grown to `size` characters with a junk claim."""
    base = len(kit.forge(use, claims=kit.claims(use, pad="")))
    token = kit.forge(use, claims=kit.claims(use, pad="x" * ((size - base) * 3 // 4)))
    assert size - 8 <= len(token) <= size + 8
    return token


@pytest.mark.parametrize("use", BOTH)
@pytest.mark.parametrize("size", [8 * 1024, 64 * 1024], ids=["8 KiB", "64 KiB"])
def test_oversized_tokens_are_refused_even_when_genuinely_signed(kit: Kit, use: TokenUse, size: int) -> None:
    """401 by the token-length cap; a JSON body past 16 KiB is refused earlier, as too large (413)."""
    assert size > MAX_TOKEN_LENGTH
    junk = ".".join(b64url(secrets.token_bytes(size // 4)) for _ in range(3))
    for token in (padded_to(kit, use, size), junk):
        for channel, answer in kit.present(use, token).items():
            if channel == "body" and size > MAX_BODY_BYTES:
                assert (answer.status, answer.body) == (413, expected_body("errorMessage", messages.BODY_TOO_LARGE))
            else:
                assert (answer.status, answer.body) == (401, INVALID[use]), channel
            assert list(answer.cookies) == []


def test_a_genuine_token_next_to_a_64_kib_unrelated_cookie_is_accepted(kit: Kit) -> None:
    answer = kit.validate(cookies=[f"tracking={'x' * 64 * 1024}", f"accessToken={kit.issued[ACCESS]}"])
    assert answer.status == 200


# --- duplicate cookies and second channels --------------------------------------------------------


@pytest.mark.parametrize("use", BOTH)
def test_two_different_cookies_of_one_name_are_401(kit: Kit, use: TokenUse) -> None:
    """Cookie tossing: an attacker who can plant a cookie (a sibling subdomain) adds a second value."""
    genuine = kit.issued[use]
    second = log_in(kit.service).cookie_value(COOKIE[use])
    before = kit.all_sessions()
    for pair in ([genuine, second], [genuine, "garbage"], ["garbage", genuine], [genuine, ""]):
        cookies = [f"{COOKIE[use]}={value}" for value in pair]
        answer = kit.validate(cookies=cookies) if use is ACCESS else kit.refresh(cookies=cookies)
        assert (answer.status, answer.body, list(answer.cookies)) == (401, INVALID[use], []), pair
    assert kit.all_sessions() == before, "no session was rotated"


@pytest.mark.parametrize("use", BOTH)
def test_the_same_cookie_twice_with_the_same_value_is_accepted(kit: Kit, use: TokenUse) -> None:
    cookies = [f"{COOKIE[use]}={kit.issued[use]}"] * 2
    answer = kit.validate(cookies=cookies) if use is ACCESS else kit.refresh(cookies=cookies)
    assert answer.status == 200


def test_a_forged_access_cookie_is_not_rescued_by_a_genuine_bearer_header(kit: Kit) -> None:
    answer = kit.validate(cookies=["accessToken=garbage"], headers={"authorization": f"Bearer {kit.issued[ACCESS]}"})
    assert (answer.status, answer.body) == (401, INVALID[ACCESS])


def test_a_forged_refresh_cookie_is_not_rescued_by_a_genuine_body_token(kit: Kit) -> None:
    answer = kit.refresh(cookies=["refreshToken=garbage"], json_body={"refreshToken": kit.issued[REFRESH]})
    assert (answer.status, answer.body) == (401, INVALID[REFRESH])


# --- text that is not Unicode -------------------------------------------------------------------


def surrogate_body(token: str) -> bytes:
    """Exactly what any client can send: JSON allows the escape of a lone surrogate in a string."""
    return b'{"refreshToken":"' + token.encode() + b'\\ud800"}'


@pytest.mark.parametrize(
    "channel", ["access cookie", "bearer header", "refresh cookie", "refresh JSON body", "revoke JSON body"]
)
def test_a_genuine_token_with_a_lone_surrogate_appended_is_401(kit: Kit, channel: str) -> None:
    """A compact JWT is ASCII; one carrying a lone surrogate is just another invalid token.

    The JSON bodies are the reachable case: `{"refreshToken":"<token>\\ud800"}` decodes to a str
    with a lone surrogate. Cookies and headers only carry one if the event says so.
    """
    access, refresh_token = kit.issued[ACCESS] + "\ud800", kit.issued[REFRESH] + "\ud800"
    answers: dict[str, Callable[[], tuple[Answer, TokenUse]]] = {
        "access cookie": lambda: (kit.validate(cookies=[f"accessToken={access}"]), ACCESS),
        "bearer header": lambda: (kit.validate(headers={"authorization": f"Bearer {access}"}), ACCESS),
        "refresh cookie": lambda: (kit.refresh(cookies=[f"refreshToken={refresh_token}"]), REFRESH),
        "refresh JSON body": lambda: (
            call(
                refresh.handler,
                kit.service.sessions,
                "POST",
                "/tokens/refresh",
                body=surrogate_body(kit.issued[REFRESH]),
            ),
            REFRESH,
        ),
        "revoke JSON body": lambda: (
            call(
                revoke.handler,
                kit.service.revocation,
                "POST",
                "/tokens/revoke",
                body=surrogate_body(kit.issued[REFRESH]),
            ),
            REFRESH,
        ),
    }

    answer, use = answers[channel]()

    assert (answer.status, answer.body) == (401, INVALID[use])
    assert kit.session_item()["status"] == {"S": "active"}

"""Signing-key rings kept as SecureString parameters in SSM Parameter Store.

A ring is JSON: {"keys": {"<kid>": {"key": "<base64url of 32+ random bytes>", "signsFrom": <epoch s>}}}.
Tokens are verified with the key their `kid` header names, and signed with the key whose
`signsFrom` is the latest one not in the future. A rotation publishes a key that signs only
from a time past the longest any function caches the ring, so every function knows the key
before any token names it, and all of them switch to it at that same moment. Rings in the
first format, {"current": "<kid>", "keys": {"<kid>": "<base64url>"}}, still read: the current
key signs, the others only verify.

Rings are read through a `ParameterSource` (`ports`): the adapters read them from SSM through
boto3, or from the Parameters and Secrets Lambda Extension without the SDK.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from token_service.domain.ports import ParameterSource

MIN_KEY_BYTES = 32
# At most one read of the rings per this many seconds for tokens naming a kid a ring lacks.
UNKNOWN_KID_REREAD_SECONDS = 10


class MalformedKeyRing(ValueError):
    """A key-ring parameter that is not the documented JSON shape."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    secret: bytes
    # Epoch seconds from which it signs; before that, and once a later key signs, it only verifies.
    signs_from: int


@dataclass(frozen=True, slots=True)
class KeyRing:
    keys: Mapping[str, SigningKey]

    @classmethod
    def single(cls, kid: str, secret: bytes, signs_from: int = 0) -> KeyRing:
        return cls({kid: SigningKey(secret, signs_from)})

    def signer(self, now: int) -> tuple[str, bytes]:
        """The kid and secret that sign at `now`."""
        started = [(key.signs_from, kid) for kid, key in self.keys.items() if key.signs_from <= now]
        if not started:
            raise MalformedKeyRing("no key of the ring signs yet")
        kid = max(started)[1]
        return kid, self.keys[kid].secret

    def verification_key(self, kid: str) -> bytes | None:
        key = self.keys.get(kid)
        return key.secret if key is not None else None

    def to_json(self) -> str:
        encoded = {
            kid: {"key": base64.urlsafe_b64encode(key.secret).rstrip(b"=").decode(), "signsFrom": key.signs_from}
            for kid, key in self.keys.items()
        }
        return json.dumps({"keys": encoded}, separators=(",", ":"))


def parse_key_ring(raw: str, first_format_since: int = 0) -> KeyRing:
    """Parse and check a ring's JSON; in the first format, the current key signs from `first_format_since`."""
    try:
        document: Any = json.loads(raw)
    except json.JSONDecodeError as error:
        raise MalformedKeyRing("key ring is not JSON") from error
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise MalformedKeyRing("key ring needs a non-empty object 'keys'")
    if "current" in document:
        return _first_format(document["current"], entries, first_format_since)
    return KeyRing({kid: _signing_key(kid, entry) for kid, entry in entries.items()})


def _first_format(current: object, entries: Mapping[str, object], since: int) -> KeyRing:
    if current not in entries:
        raise MalformedKeyRing("key ring's current kid has no key")
    # The other keys signed before the current one: earlier than any time it could sign from.
    return KeyRing(
        {kid: SigningKey(_decode_key(kid, value), since if kid == current else -1) for kid, value in entries.items()}
    )


def _signing_key(kid: str, entry: object) -> SigningKey:
    signs_from = entry.get("signsFrom") if isinstance(entry, dict) else None
    if not isinstance(signs_from, int) or isinstance(signs_from, bool):
        raise MalformedKeyRing(f"key {kid!r} needs a 'key' and a whole number 'signsFrom'")
    return SigningKey(_decode_key(kid, cast("dict[str, object]", entry).get("key")), signs_from)


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
    """The rings one function may read, fetched together from their source.

    The parsed rings are kept here for `max_age` seconds. A token naming a kid the kept ring
    lacks makes the store read the rings again, at most once per `UNKNOWN_KID_REREAD_SECONDS`,
    so that a key published moments ago is learnt without waiting for the cache to expire and
    forged kids cannot turn every request into a read. A failed fetch is not kept: the next
    request tries again.
    """

    def __init__(
        self,
        source: ParameterSource,
        parameter_names: Sequence[str],
        max_age: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._source = source
        self._names = list(parameter_names)
        self._max_age = max_age
        self._clock = clock
        # (fresh until, rings), swapped as one value so concurrent requests never see half of a reload.
        self._cache: tuple[float, dict[str, KeyRing]] = (float("-inf"), {})
        self._next_reread_for_kid = float("-inf")

    def ring(self, parameter_name: str, kid: str | None = None) -> KeyRing:
        """The ring; read again if it is stale, or if it lacks `kid` and a re-read is due."""
        fresh_until, rings = self._cache
        now = self._clock()
        if now >= fresh_until or (kid is not None and self._lacks(rings, parameter_name, kid, now)):
            rings = {name: parse_key_ring(value) for name, value in self._source.fetch(self._names).items()}
            self._cache = (self._clock() + self._max_age, rings)
        return rings[parameter_name]

    def _lacks(self, rings: Mapping[str, KeyRing], parameter_name: str, kid: str, now: float) -> bool:
        """True when the kept ring lacks `kid` and a re-read for an unknown kid is due (and is now booked)."""
        if kid in rings[parameter_name].keys or now < self._next_reread_for_kid:
            return False
        self._next_reread_for_kid = now + UNKNOWN_KID_REREAD_SECONDS
        return True

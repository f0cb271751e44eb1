"""GET /tokens/validate's domain: stateless, the access ring only, no table.

Nothing here imports boto3: where the function has the parameters extension, validation never
loads the AWS SDK at all (see `key_rings`).
"""

from __future__ import annotations

from token_service.config import Settings
from token_service.key_rings import KeyRingStore
from token_service.tokens import TokenCodec, TokenUse, VerifiedToken


class AccessValidator:
    def __init__(self, settings: Settings, keys: KeyRingStore) -> None:
        self._ring_name = settings.access_keys_parameter
        self._keys = keys
        self._codec = TokenCodec(TokenUse.ACCESS, settings.issuer, settings.audience)

    def validate(self, access_token: str) -> VerifiedToken:
        return self._codec.verify(access_token, lambda kid: self._keys.ring(self._ring_name, kid))

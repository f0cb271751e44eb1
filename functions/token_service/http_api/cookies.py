"""The credential cookies: how tokens are set and cleared, and where a request presents them.

Payload format 2.0 hands request cookies in as `event["cookies"]` and takes response cookies
as the `cookies` list, one `Set-Cookie` each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from token_service.config import TokenSource
from token_service.domain.errors import InvalidToken, TokenMissing
from token_service.domain.values import TokenPair, TokenUse
from token_service.http_api.request import Request

ACCESS_COOKIE = "accessToken"
REFRESH_COOKIE = "refreshToken"


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """Credential cookies are never readable by scripts and never sent cross-site.

    `secure` is False only where the template's `CookieSecure` says so: plain-http local runs.
    The access cookie goes to the whole API, the refresh cookie only to its token routes; both
    paths start with the API mapping's base path (`path_prefix`), which Lambda's events omit.
    `domain` shares them with a parent domain's subdomains; None keeps them host-only.
    """

    secure: bool
    path_prefix: str = ""
    domain: str | None = None

    def pair(self, tokens: TokenPair) -> list[str]:
        return [
            self._cookie(ACCESS_COOKIE, tokens.access_token, tokens.access_max_age),
            self._cookie(REFRESH_COOKIE, tokens.refresh_token, tokens.refresh_max_age),
        ]

    def cleared(self) -> list[str]:
        """Both credential cookies emptied and expired, with the Path and flags they were set with."""
        return [self._cookie(ACCESS_COOKIE, "", 0), self._cookie(REFRESH_COOKIE, "", 0)]

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        path = f"{self.path_prefix}/tokens" if name == REFRESH_COOKIE else self.path_prefix or "/"
        cookie = Cookie(
            name=name,
            value=value,
            path=path,
            domain=self.domain or "",
            max_age=max_age,
            secure=self.secure,
            http_only=True,
            same_site=SameSite.STRICT_MODE,
        )
        return str(cookie)


def presented_access_token(request: Request, source: TokenSource = TokenSource.EITHER) -> str:
    """The access token from its cookie, or from `Authorization: Bearer` for clients without a cookie jar.

    `source` narrows it to one of them: an authorizer whose answers API Gateway caches on one
    header must decide on that header alone, or a request would be allowed on the strength of a
    token another request sent beside the same header.
    """
    from_cookie = _cookie(request, ACCESS_COOKIE, TokenUse.ACCESS) if source is not TokenSource.BEARER else None
    token = from_cookie or (request.bearer_token() if source is not TokenSource.COOKIE else None)
    if token is None:
        raise TokenMissing(TokenUse.ACCESS)
    return token


def presented_refresh_token(request: Request, body: Mapping[str, Any]) -> str:
    """The refresh token from its cookie, or from `{"refreshToken": ...}` for clients without a cookie jar."""
    token = _cookie(request, REFRESH_COOKIE, TokenUse.REFRESH) or body.get("refreshToken")
    if not isinstance(token, str) or not token:
        raise TokenMissing(TokenUse.REFRESH)
    return token


def _cookie(request: Request, name: str, use: TokenUse) -> str | None:
    """The cookie's value; two different values under one name are an attack, never a choice."""
    values = request.cookie_values(name)
    if len(values) > 1:
        raise InvalidToken(use, f"cookie {name} was sent with different values")
    return values.pop() or None if values else None

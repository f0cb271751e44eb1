"""Settings from the environment, read once per execution environment.

`template.yaml` declares every variable below; `Settings.from_environment` is the only
place that reads them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

# What template.yaml's BasePath and DomainName parameters allow, as the functions receive them.
_COOKIE_PATH_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")
_DOMAIN = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class TokenSource(StrEnum):
    """Where the authorizer takes the access token: only where API Gateway's cache key is, if it has one."""

    COOKIE = "cookie"
    BEARER = "bearer"
    EITHER = "either"


class ConfigurationError(RuntimeError):
    """The function's environment is missing or malformed: a deployment fault."""


@dataclass(frozen=True, slots=True)
class Settings:
    issuer: str
    audience: str
    access_token_ttl: int
    refresh_token_ttl: int
    access_keys_parameter: str
    refresh_keys_parameter: str
    sessions_table: str
    cookie_secure: bool
    keys_max_age: int
    refresh_grace_seconds: int
    # The authorizer also requires the token's session to be live.
    authorizer_checks_session: bool = True
    authorizer_token_source: TokenSource = TokenSource.COOKIE
    # The API mapping's base path on a custom domain ("" or "/auth"), which the cookies' paths follow.
    cookie_path_prefix: str = ""
    # The parent domain the cookies are shared with; None: host-only cookies.
    cookie_domain: str | None = None
    # The Parameters and Secrets Lambda Extension's port where the function has the extension.
    parameters_extension_port: int | None = None
    # Lambda's own credential; the extension requires it on every call. Never printed.
    aws_session_token: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        return cls(
            issuer=_text(environ, "TOKEN_ISSUER"),
            audience=_text(environ, "TOKEN_AUDIENCE"),
            access_token_ttl=_number(environ, "ACCESS_TOKEN_TTL"),
            refresh_token_ttl=_number(environ, "REFRESH_TOKEN_TTL"),
            access_keys_parameter=_text(environ, "ACCESS_KEYS_PARAMETER"),
            refresh_keys_parameter=_text(environ, "REFRESH_KEYS_PARAMETER"),
            sessions_table=_text(environ, "SESSIONS_TABLE"),
            cookie_secure=_flag(environ, "COOKIE_SECURE"),
            cookie_path_prefix=_optional(environ, "COOKIE_PATH_PREFIX", _COOKIE_PATH_PREFIX) or "",
            cookie_domain=_optional(environ, "COOKIE_DOMAIN", _DOMAIN),
            keys_max_age=_number(environ, "KEYS_MAX_AGE"),
            refresh_grace_seconds=_number(environ, "REFRESH_GRACE_SECONDS", minimum=0),
            authorizer_checks_session=_flag(environ, "AUTHORIZER_CHECKS_SESSION"),
            authorizer_token_source=_token_source(environ, "AUTHORIZER_TOKEN_SOURCE"),
            parameters_extension_port=_optional_port(environ, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"),
            aws_session_token=environ.get("AWS_SESSION_TOKEN", ""),
        )


@cache
def settings() -> Settings:
    return Settings.from_environment()


def _text(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _number(environ: Mapping[str, str], name: str, minimum: int = 1, maximum: int | None = None) -> int:
    raw = _text(environ, name)
    if not raw.isascii() or not raw.isdigit() or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
        allowed = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
        raise ConfigurationError(f"environment variable {name} must be a whole number {allowed}")
    return int(raw)


def _optional(environ: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str | None:
    value = environ.get(name, "").strip()
    if not value:
        return None
    if not pattern.fullmatch(value):
        raise ConfigurationError(f"environment variable {name} is malformed")
    return value


def _optional_port(environ: Mapping[str, str], name: str) -> int | None:
    if not environ.get(name, "").strip():
        return None
    return _number(environ, name, maximum=65535)


def _token_source(environ: Mapping[str, str], name: str) -> TokenSource:
    raw = _text(environ, name)
    if raw not in set(TokenSource):
        raise ConfigurationError(f"environment variable {name} must be one of {', '.join(TokenSource)}")
    return TokenSource(raw)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = _text(environ, name).lower()
    if raw not in ("true", "false"):
        raise ConfigurationError(f"environment variable {name} must be true or false")
    return raw == "true"

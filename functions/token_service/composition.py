"""Each function's dependencies, built from its settings and AWS clients: the one place they are wired.

Lambda's entry points build them from the environment with the default clients and the wall
clock (which both dates tokens and ages the cached key rings); tests and the bench hand in
their own clients and clocks. Key rings come from the parameters extension where the
settings name its port, else from SSM through boto3. The session modules (and with them the
AWS SDK) are imported only by the functions that use the table, so that validate (and the
authorizer that trusts tokens alone) with the extension never loads the SDK.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from token_service import deadline
from token_service.authorization import Authorizer
from token_service.config import Settings
from token_service.cookies import CookiePolicy
from token_service.key_rings import ExtensionParameterSource, KeyRingStore, ParameterSource, SsmParameterSource
from token_service.validation import AccessValidator

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient

    from token_service.own_sessions import SessionEnding, SessionListing
    from token_service.service import LoginSessions, SessionRevocation
    from token_service.sessions import SessionStore


@dataclass(frozen=True, slots=True)
class Clients:
    """AWS clients to use; None: the default client, built once per execution environment."""

    ssm: SSMClient | None = None
    dynamodb: DynamoDBClient | None = None


@dataclass(frozen=True, slots=True)
class SessionRoutes:
    """What issue and refresh need."""

    sessions: LoginSessions
    cookies: CookiePolicy


@dataclass(frozen=True, slots=True)
class RevokeRoute:
    """What revoke needs."""

    revocation: SessionRevocation
    cookies: CookiePolicy


@dataclass(frozen=True, slots=True)
class EndSessionRoute:
    """What ending one of the user's sessions needs: the cookies go if it is the requesting session."""

    ending: SessionEnding
    cookies: CookiePolicy


def validator(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> AccessValidator:
    return AccessValidator(settings, _key_rings(settings, [settings.access_keys_parameter], clients, clock))


def session_routes(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> SessionRoutes:
    from token_service.service import LoginSessions  # noqa: PLC0415 - see the module docstring

    rings = [settings.access_keys_parameter, settings.refresh_keys_parameter]
    keys = _key_rings(settings, rings, clients, clock)
    sessions = LoginSessions(settings, keys, _session_store(settings, clients), clock)
    return SessionRoutes(sessions, cookie_policy(settings))


def revoke_route(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> RevokeRoute:
    from token_service.service import SessionRevocation  # noqa: PLC0415 - see the module docstring

    keys = _key_rings(settings, [settings.refresh_keys_parameter], clients, clock)
    revocation = SessionRevocation(settings, keys, _session_store(settings, clients), clock)
    return RevokeRoute(revocation, cookie_policy(settings))


def authorizer(settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time) -> Authorizer:
    sessions = _session_store(settings, clients) if settings.authorizer_checks_session else None
    return Authorizer(validator(settings, clients, clock), sessions, settings.authorizer_token_source, clock)


def session_listing(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> SessionListing:
    from token_service.own_sessions import SessionListing  # noqa: PLC0415 - see the module docstring

    keys = _key_rings(settings, [settings.access_keys_parameter], clients, clock)
    return SessionListing(settings, keys, _session_store(settings, clients), clock)


def end_session_route(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> EndSessionRoute:
    from token_service.own_sessions import SessionEnding  # noqa: PLC0415 - see the module docstring

    return EndSessionRoute(SessionEnding(_session_store(settings, clients), clock), cookie_policy(settings))


def cookie_policy(settings: Settings) -> CookiePolicy:
    return CookiePolicy(settings.cookie_secure, settings.cookie_path_prefix, settings.cookie_domain)


def _key_rings(settings: Settings, names: Sequence[str], clients: Clients, clock: Callable[[], float]) -> KeyRingStore:
    source: ParameterSource
    if settings.parameters_extension_port is not None:
        source = ExtensionParameterSource(settings.parameters_extension_port, settings.aws_session_token)
    else:
        from token_service import aws  # noqa: PLC0415 - see the module docstring

        source = SsmParameterSource(deadline.guard(clients.ssm or aws.ssm_client()))
    return KeyRingStore(source, names, settings.keys_max_age, clock)


def _session_store(settings: Settings, clients: Clients) -> SessionStore:
    from token_service import aws  # noqa: PLC0415 - see the module docstring
    from token_service.sessions import SessionStore  # noqa: PLC0415

    return SessionStore(deadline.guard(clients.dynamodb or aws.dynamodb_client()), settings.sessions_table)

"""Each function's dependencies, built from its settings and AWS clients: the one place they are wired.

Lambda's entry points build them from the environment with the default clients and the wall
clock (which both dates tokens and ages the cached key rings); tests and the bench hand in
their own clients and clocks. Key rings come from the parameters extension where the
settings name its port, else from SSM through boto3.

Only the adapters import the AWS SDK, and this module imports those that do only when a
function needs them (`_ssm_source`, `_session_store`): validate, and the authorizer that trusts
tokens alone, never load the SDK where they have the extension.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from token_service.adapters import deadline
from token_service.adapters.extension_parameters import ExtensionParameterSource
from token_service.config import Settings
from token_service.domain.access import AccessValidator, Authorizer
from token_service.domain.account import SessionEnding, SessionListing
from token_service.domain.key_rings import KeyRingStore
from token_service.domain.login import LoginSessions, SessionRevocation
from token_service.domain.ports import ParameterSource, SessionStore
from token_service.http_api.cookies import CookiePolicy

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient


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
    rings = [settings.access_keys_parameter, settings.refresh_keys_parameter]
    keys = _key_rings(settings, rings, clients, clock)
    sessions = LoginSessions(settings, keys, _session_store(settings, clients), clock)
    return SessionRoutes(sessions, cookie_policy(settings))


def revoke_route(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> RevokeRoute:
    keys = _key_rings(settings, [settings.refresh_keys_parameter], clients, clock)
    revocation = SessionRevocation(settings, keys, _session_store(settings, clients), clock)
    return RevokeRoute(revocation, cookie_policy(settings))


def authorizer(settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time) -> Authorizer:
    sessions = _session_store(settings, clients) if settings.authorizer_checks_session else None
    return Authorizer(validator(settings, clients, clock), sessions, settings.authorizer_token_source, clock)


def session_listing(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> SessionListing:
    keys = _key_rings(settings, [settings.access_keys_parameter], clients, clock)
    return SessionListing(settings, keys, _session_store(settings, clients), clock)


def end_session_route(
    settings: Settings, clients: Clients = Clients(), clock: Callable[[], float] = time.time
) -> EndSessionRoute:
    return EndSessionRoute(SessionEnding(_session_store(settings, clients), clock), cookie_policy(settings))


def cookie_policy(settings: Settings) -> CookiePolicy:
    return CookiePolicy(settings.cookie_secure, settings.cookie_path_prefix, settings.cookie_domain)


def _key_rings(settings: Settings, names: Sequence[str], clients: Clients, clock: Callable[[], float]) -> KeyRingStore:
    source: ParameterSource
    if settings.parameters_extension_port is not None:
        source = ExtensionParameterSource(settings.parameters_extension_port, settings.aws_session_token)
    else:
        source = _ssm_source(clients)
    return KeyRingStore(source, names, settings.keys_max_age, clock)


def _ssm_source(clients: Clients) -> ParameterSource:
    from token_service.adapters import aws_clients  # noqa: PLC0415 - see the module docstring
    from token_service.adapters.ssm_parameters import SsmParameterSource  # noqa: PLC0415

    return SsmParameterSource(deadline.guard(clients.ssm or aws_clients.ssm_client()))


def _session_store(settings: Settings, clients: Clients) -> SessionStore:
    from token_service.adapters import aws_clients  # noqa: PLC0415 - see the module docstring
    from token_service.adapters.session_table import SessionTable  # noqa: PLC0415

    return SessionTable(deadline.guard(clients.dynamodb or aws_clients.dynamodb_client()), settings.sessions_table)

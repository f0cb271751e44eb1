"""The template's HttpApi routes as the front serves them: each (method, path) to its function and authorizer."""

from __future__ import annotations

import functools

from infra.local import LocalDeploymentError
from infra.local.authorizers import LambdaAuthorizer, lambda_authorizer
from infra.local.front import RouteKey
from infra.local.functions import Function, imported_function
from infra.template import Template


def api_routes(template: Template) -> tuple[dict[RouteKey, Function], dict[RouteKey, LambdaAuthorizer]]:
    """(method, path) → the function behind it, for every HttpApi event; and → the Lambda authorizer
    API Gateway runs first, where the API's definition requires one. Functions imported as Lambda does."""
    function = functools.cache(functools.partial(imported_function, template))
    declared = template.authorizers()
    authorizers: dict[str, LambdaAuthorizer] = {}  # one per authorizer: its cache serves all its routes
    routes: dict[RouteKey, Function] = {}
    protected: dict[RouteKey, LambdaAuthorizer] = {}
    for route in template.routes():
        if not route.path.startswith("/") or "+}" in route.path:
            raise LocalDeploymentError(f"{route.function}: the local front matches {{name}} segments, not {route.path}")
        routes[(route.method, route.path)] = function(route.function)
        if route.authorizer is not None:
            if route.authorizer not in authorizers:
                authorizers[route.authorizer] = lambda_authorizer(declared[route.authorizer], function)
            protected[(route.method, route.path)] = authorizers[route.authorizer]
    return routes, protected

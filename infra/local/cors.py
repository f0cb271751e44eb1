"""CORS as API Gateway applies an HTTP API's `x-amazon-apigateway-cors`: preflights answered, listed origins granted.

API Gateway answers every preflight itself (204) and adds the grant to every answer, but only
for an origin on the list: any other origin gets no CORS header, so its page cannot read the
answer (and with credentials, `*` is never a grant).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.template import Template

type Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Cors:
    origins: frozenset[str]
    methods: tuple[str, ...]
    headers: tuple[str, ...]
    credentials: bool
    max_age: int

    @classmethod
    def of(cls, template: Template) -> Cors | None:
        """The HttpApi's CORS configuration with the template's parameters; None where it has none."""
        (api,) = template.resources_of_type("AWS::Serverless::HttpApi").values()
        body: Mapping[str, Any] = template.resolve(api["Properties"].get("DefinitionBody", {}))
        configuration = body.get("x-amazon-apigateway-cors")
        if not configuration:
            return None
        return cls(
            origins=frozenset(configuration.get("allowOrigins", ())),
            methods=tuple(configuration.get("allowMethods", ())),
            headers=tuple(configuration.get("allowHeaders", ())),
            credentials=configuration.get("allowCredentials") is True,
            max_age=int(configuration.get("maxAge", 0)),
        )

    def grant(self, origin: str | None) -> Headers:
        """The headers that let a page of `origin` read the answer; none for an origin not listed."""
        if origin is None or origin not in self.origins:
            return ()
        credentials = (("access-control-allow-credentials", "true"),) if self.credentials else ()
        return (("access-control-allow-origin", origin), *credentials, ("vary", "origin"))

    def preflight(self, origin: str | None) -> Headers:
        """A preflight's answer: the grant, and what the actual request may then do."""
        grant = self.grant(origin)
        if not grant:
            return ()
        return (
            *grant,
            ("access-control-allow-methods", ",".join(self.methods)),
            ("access-control-allow-headers", ",".join(self.headers)),
            ("access-control-max-age", str(self.max_age)),
        )

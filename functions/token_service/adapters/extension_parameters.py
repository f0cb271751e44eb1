"""Key rings through the AWS Parameters and Secrets Lambda Extension: a localhost HTTP call per ring, no SDK.

The validate function needs nothing else from AWS, so with the extension it never imports boto3,
the largest part of a cold start.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Sequence
from urllib.parse import urlencode

from token_service.adapters import deadline
from token_service.domain.errors import DependencyUnavailable


class ExtensionParameterSource:
    """SSM through the AWS Parameters and Secrets Lambda Extension on localhost: one call per ring."""

    def __init__(self, port: int, session_token: str, host: str = "localhost") -> None:
        self._host = host
        self._port = port
        self._headers = {"X-Aws-Parameters-Secrets-Token": session_token}

    def fetch(self, names: Sequence[str]) -> dict[str, str]:
        return {name: self._get(name) for name in names}

    def _get(self, name: str) -> str:
        path = "/systemsmanager/parameters/get?" + urlencode({"name": name, "withDecryption": "true"})
        deadline.check_attempt()
        connection = http.client.HTTPConnection(self._host, self._port, timeout=deadline.ATTEMPT_SECONDS)
        try:
            connection.request("GET", path, headers=self._headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise DependencyUnavailable("the parameters extension did not answer") from error
        finally:
            connection.close()
        if status != 200:
            raise DependencyUnavailable(f"the parameters extension answered {status}")
        try:
            value = json.loads(body)["Parameter"]["Value"]
        except (ValueError, KeyError, TypeError) as error:
            raise DependencyUnavailable("the parameters extension answered without a value") from error
        if not isinstance(value, str):
            raise DependencyUnavailable("the parameters extension answered without a value")
        return value

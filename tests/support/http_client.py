"""A cookie-keeping HTTP client, as Insomnia or a client drives the API: cookies by their Path."""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import dataclass
from email.message import Message
from http.cookiejar import Cookie, CookieJar
from typing import Any

USER_ID = "64c47134ad123e335d76fff5"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []

    def set_cookie(self, name: str) -> str:
        """The one Set-Cookie header for `name`."""
        (match,) = [cookie for cookie in self.set_cookies if cookie.startswith(name + "=")]
        return match


class _KeepErrors(urllib.request.HTTPErrorProcessor):
    """Every status is an answer to look at, not an exception."""

    def http_response(self, request: urllib.request.Request, response: Any) -> Any:
        return response


class HttpClient:
    def __init__(self, base_url: str, user_agent: str = "insomnia/10.2.0") -> None:
        self.base_url = base_url
        self.user_agent = user_agent
        self.jar = CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # loopback only, whatever the environment's proxy
            urllib.request.HTTPCookieProcessor(self.jar),
            _KeepErrors(),
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        all_headers = {"User-Agent": self.user_agent, **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(  # noqa: S310 - the local stack's http URL
            self.base_url + path, data=body, headers=all_headers, method=method
        )
        with self._opener.open(request, timeout=10) as response:
            return Answer(response.status, response.headers, response.read())

    def get(self, path: str, **options: Any) -> Answer:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> Answer:
        return self.request("POST", path, **options)

    def cookie(self, name: str) -> Cookie:
        (match,) = [cookie for cookie in self.jar if cookie.name == name]
        return match

    def cookie_value(self, name: str) -> str:
        value = self.cookie(name).value
        assert value is not None
        return value


def claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified: the tests only read what the service put there."""
    payload = token.split(".")[1]
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return document


def error_body(message: str) -> bytes:
    return ('{"errorMessage":"' + message + '"}').encode()


def message_body(message: str) -> bytes:
    return ('{"message":"' + message + '"}').encode()

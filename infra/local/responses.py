"""Answers as API Gateway sends them: its own errors, and a handler's answer turned into HTTP (payload format 2.0)."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from dataclasses import dataclass

type Headers = tuple[tuple[str, str], ...]

JSON: Headers = (("content-type", "application/json"),)
# What HTTP forbids in a header name and value.
_NOT_A_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Headers
    body: bytes
    output: str = ""  # what the invocation wrote to standard output

    @property
    def outcome(self) -> str:
        """The `outcome` of the last request log line (the function that answered, after any authorizer);
        `-` without one (e.g. at LogLevel=WARNING)."""
        outcome = "-"
        for line in self.output.splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line) if '"request"' in line else None
                if isinstance(record, dict) and record.get("message") == "request":
                    outcome = str(record.get("outcome", "-"))
        return outcome


class UnusableResponseError(ValueError):
    """A handler answer API Gateway could not turn into HTTP (it answers 500)."""


def gateway_error(status: int, message: str, headers: Headers = JSON) -> Reply:
    """An answer API Gateway gives on its own, never reaching a function."""
    return Reply(status, headers, json.dumps({"message": message}, separators=(",", ":")).encode())


def lambda_reply(result: object) -> Reply:
    """A handler's answer as API Gateway turns it into HTTP (payload format 2.0)."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # Format 2.0 infers a 200 JSON answer from anything without a statusCode.
        return Reply(200, JSON, (result if isinstance(result, str) else json.dumps(result)).encode())
    status, headers, cookies = result["statusCode"], result.get("headers") or {}, result.get("cookies") or []
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise UnusableResponseError(f"statusCode {status!r} is not an HTTP status")
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise UnusableResponseError("headers must be an object and cookies a list")
    pairs = [_header(name, value) for name, value in headers.items()]
    pairs += [_header("set-cookie", cookie) for cookie in cookies]
    return Reply(status, tuple(pairs), _body(result.get("body"), result.get("isBase64Encoded") is True))


def _header(name: object, value: object) -> tuple[str, str]:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if not str(name) or _NOT_A_TOKEN.search(str(name)) or _CONTROL_CHARACTERS.search(text):
        raise UnusableResponseError(f"{name}: {text!r} cannot be sent as a header")
    return str(name), text


def _body(body: object, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise UnusableResponseError("body must be a string")
    if not is_base64:
        return body.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(body, validate=True)
    except ValueError as error:  # binascii.Error is one
        raise UnusableResponseError("isBase64Encoded body is not base64") from error

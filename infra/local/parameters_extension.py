"""A local stand-in for the AWS Parameters and Secrets Lambda Extension, answering from an SSM client.

It serves the extension's `GET /systemsmanager/parameters/get` to callers presenting the session
token, so the functions' SDK-free path runs locally as it would on Lambda.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import ClientError

from infra.local.serving import Service

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

PATH = "/systemsmanager/parameters/get"
EXTENSION_AUTH_HEADER = "X-Aws-Parameters-Secrets-Token"


class ParametersExtension(Service):
    def __init__(self, ssm: SSMClient, session_token: str, port: int = 0) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_class(ssm, session_token))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="parameters-extension", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _handler_class(ssm: SSMClient, session_token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if self.headers.get(EXTENSION_AUTH_HEADER) != session_token:
                self._answer(HTTPStatus.UNAUTHORIZED, {"message": "missing or wrong session token"})
            elif url.path != PATH or "name" not in query:
                self._answer(HTTPStatus.BAD_REQUEST, {"message": "unknown request"})
            else:
                decrypt = query.get("withDecryption", ["false"])[0] == "true"
                try:
                    parameter = ssm.get_parameter(Name=query["name"][0], WithDecryption=decrypt)["Parameter"]
                except ClientError as error:
                    self._answer(HTTPStatus.BAD_REQUEST, {"message": error.response["Error"]["Code"]})
                    return
                self._answer(HTTPStatus.OK, {"Parameter": {**parameter, "LastModifiedDate": None}})

        def _answer(self, status: HTTPStatus, document: dict[str, Any]) -> None:
            body = json.dumps(document, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the local stack prints what it serves once, not a line per request."""

    return Handler

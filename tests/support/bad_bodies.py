"""Bodies POST /tokens must refuse with 400, and the message for each: one corpus for every layer."""

from __future__ import annotations

import json

import pytest

from token_service.http_api import messages

NOT_AN_OBJECT = messages.BODY_NOT_JSON_OBJECT
BAD_ID = messages.ID_INVALID

BAD_ISSUE_BODIES = [
    pytest.param(None, NOT_AN_OBJECT, id="no body"),
    pytest.param(b"", NOT_AN_OBJECT, id="empty body"),
    pytest.param(b"{not json", NOT_AN_OBJECT, id="malformed JSON"),
    pytest.param(b"\xff\xfe\x00", NOT_AN_OBJECT, id="not UTF-8"),
    pytest.param(b"[]", NOT_AN_OBJECT, id="array"),
    pytest.param(b'"64c4"', NOT_AN_OBJECT, id="string"),
    pytest.param(b"null", NOT_AN_OBJECT, id="null"),
    pytest.param(b"[" * 5000 + b"]" * 5000, NOT_AN_OBJECT, id="nested too deep"),
    pytest.param(b"{}", BAD_ID, id="id missing"),
    pytest.param(b'{"id": 64}', BAD_ID, id="id a number"),
    pytest.param(b'{"id": null}', BAD_ID, id="id null"),
    pytest.param(b'{"id": ["a"]}', BAD_ID, id="id an array"),
    pytest.param(b'{"id": ""}', BAD_ID, id="id empty"),
    pytest.param(json.dumps({"id": "a" * 129}).encode(), BAD_ID, id="id over 128 characters"),
    pytest.param(b'{"id": "a\\nb"}', BAD_ID, id="id with a newline"),
    pytest.param(b'{"id": "a\\u0000"}', BAD_ID, id="id with NUL"),
    pytest.param(b'{"id": "a\\u0085"}', BAD_ID, id="id with a C1 control"),
]

"""The page `make run` serves at `/demo` to try the API from a browser; local only, outside the template.

A static page (`demo.html`) whose inline style and script are the only ones the Content-Security-Policy
lets run: the policy names their hashes, so nothing injected into the page could.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

PATH = "/demo"
_PAGE = Path(__file__).with_name("demo.html")
# The page's own inline elements: each `<style>` and `<script>` holds no attribute.
_INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)


def _source(sources: list[str]) -> str:
    hashes = (base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() for text in sources)
    return " ".join(f"'sha256-{digest}'" for digest in hashes)


@functools.cache
def page() -> tuple[tuple[tuple[str, str], ...], bytes]:
    """The page's headers and body."""
    text = _PAGE.read_text(encoding="utf-8")
    inline = _INLINE.findall(text)
    policy = "; ".join(
        [
            "default-src 'none'",
            f"style-src {_source([body for tag, body in inline if tag == 'style'])}",
            f"script-src {_source([body for tag, body in inline if tag == 'script'])}",
            "connect-src http: https:",  # the API, on this origin or the one ?api= names
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = (
        ("content-type", "text/html; charset=utf-8"),
        ("content-security-policy", policy),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    )
    return headers, text.encode()

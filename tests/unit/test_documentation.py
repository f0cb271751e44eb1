"""Every relative link of the documentation resolves: to a file or folder of the repository and, for
`#anchor`, to a heading of the Markdown file it names, slugged as GitHub slugs headings."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    {
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        *(ROOT / "docs").glob("**/*.md"),
        *(ROOT / "examples").glob("*/README.md"),
    }
)

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>\n]*>|[^()\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*(<[^>\n]*>|\S+)", re.MULTILINE)
_HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)=\"([^\"]*)\"", re.IGNORECASE)
_HTML_ANCHOR = re.compile(r"<a\b[^>]*?\b(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LINE_ANCHOR = re.compile(r"^L(\d+)(?:-L(\d+))?$")


@dataclass(frozen=True)
class Link:
    document: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}: {self.target}"


def slug(heading: str) -> str:
    """GitHub's anchor of a heading's text: lower case, punctuation dropped, each space a hyphen."""
    kept = (
        character
        for character in heading.strip().lower()
        if character in " -_" or unicodedata.category(character)[0] in "LMN"
    )
    return "".join(kept).replace(" ", "-")


def heading_text(markdown: str) -> str:
    """The text a heading shows: code spans' contents, links' texts, no tags."""
    text = _CODE_SPAN.sub(lambda match: match.group(2).strip(), markdown)
    text = re.sub(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"<[^>]+>", "", text)


def _prose(text: str) -> Iterator[tuple[int, str]]:
    """Each line outside fenced code blocks, numbered from 1; lines of a code block are blank."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            yield number, ""
        elif fence is not None:
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
            yield number, ""
        else:
            yield number, line


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings (repeats numbered -1, -2, ...), and explicit ones."""
    seen: Counter[str] = Counter()
    found: set[str] = set()
    for _, line in _prose(text):
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading_text(heading.group(2) or ""))
            found.add(f"{base}-{seen[base]}" if seen[base] else base)
            seen[base] += 1
        found.update(_HTML_ANCHOR.findall(line))
    return found


def links(document: Path) -> Iterator[Link]:
    """Every link target in the document's prose (inline, reference definitions, HTML), with its line."""
    lines = list(_prose(document.read_text(encoding="utf-8")))
    paragraph: list[tuple[int, str]] = []
    for number, line in [*lines, (len(lines) + 1, "")]:
        if line.strip():
            paragraph.append((number, line))
            continue
        if paragraph:
            yield from _paragraph_links(document, paragraph)
        paragraph = []


def _paragraph_links(document: Path, paragraph: list[tuple[int, str]]) -> Iterator[Link]:
    # Code spans never span paragraphs, and links may span lines: each paragraph is read whole.
    text = "\n".join(line for _, line in paragraph)
    starts = [0]
    for _, line in paragraph:
        starts.append(starts[-1] + len(line) + 1)
    without_code = _CODE_SPAN.sub(lambda match: " " * len(match.group(0)), text)
    for pattern in (_INLINE_LINK, _DEFINITION, _HTML_LINK):
        for match in pattern.finditer(without_code):
            target = match.group(1).removeprefix("<").removesuffix(">")
            number = paragraph[sum(1 for start in starts[1:] if start <= match.start(1))][0]
            yield Link(document, number, target)


def is_relative(target: str) -> bool:
    return not (_SCHEME.match(target) or target.startswith("//"))


def problem(link: Link) -> str | None:
    """Why a relative link does not resolve, or None when it does."""
    path, _, anchor = link.target.partition("#")
    path = unquote(path)
    if path.startswith("/"):
        resolved = (ROOT / path.lstrip("/")).resolve()
    else:
        resolved = (link.document.parent / path).resolve() if path else link.document
    if not resolved.is_relative_to(ROOT):
        return "points outside the repository"
    if not resolved.exists():
        return "no such file or folder"
    return anchor_problem(resolved, unquote(anchor)) if anchor else None


def anchor_problem(resolved: Path, anchor: str) -> str | None:
    """Why `#anchor` names nothing in the file: a heading of a Markdown file, else a line (`#L12`, `#L12-L20`)."""
    if resolved.is_dir():
        return "an anchor on a folder"
    text = resolved.read_text(encoding="utf-8")
    if resolved.suffix.lower() == ".md":
        return None if anchor in anchors(text) else f"no heading #{anchor} in {resolved.relative_to(ROOT)}"
    lines = _LINE_ANCHOR.match(anchor)
    if lines and int(lines.group(2) or lines.group(1)) <= len(text.splitlines()):
        return None
    return f"no line #{anchor} in {resolved.relative_to(ROOT)}"


def broken_links(documents: list[Path]) -> list[str]:
    return [
        f"{link}: {reason}"
        for document in documents
        for link in links(document)
        if is_relative(link.target) and (reason := problem(link)) is not None
    ]


def test_the_documentation_is_found() -> None:
    assert ROOT / "README.md" in DOCUMENTS
    assert ROOT / "CONTRIBUTING.md" in DOCUMENTS
    assert any(document.parent == ROOT / "docs" for document in DOCUMENTS)
    assert all(document.is_file() for document in DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda document: str(document.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links([document]) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Quick start", "quick-start"),
        ("Keys and deployment", "keys-and-deployment"),
        ("On real Lambda containers: `make sam-local`", "on-real-lambda-containers-make-sam-local"),
        ("What API Gateway caches, on which key, for how long", "what-api-gateway-caches-on-which-key-for-how-long"),
        ("Tokens, keys and sessions", "tokens-keys-and-sessions"),
        ("`POST /tokens/refresh`", "post-tokensrefresh"),
        ("Least privilege — the roles", "least-privilege--the-roles"),
        ("Protect your own routes (an [example](examples/x))", "protect-your-own-routes-an-example"),
        ("refresh_token and RefreshGraceSeconds", "refresh_token-and-refreshgraceseconds"),
        ("토큰 발급", "토큰-발급"),
    ],
)
def test_anchors_are_githubs(heading: str, anchor: str) -> None:
    assert slug(heading_text(heading)) == anchor


def test_a_broken_link_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "target.md").write_text("# Target\n\n## Twice\n\n## Twice\n", encoding="utf-8")
    (tmp_path / "outside.md").write_text("# Outside\n", encoding="utf-8")
    document = tmp_path / "docs" / "page.md"
    document.write_text(
        "# Page\n\n"
        "[fine](target.md), [fine](target.md#twice-1), [fine](#page), [fine](../outside.md),\n"
        "[fine](https://example.com/missing.md), `[in code](missing.md)`\n\n"
        "```sh\n[in a block](missing.md)\n```\n\n"
        "[missing](missing.md) and [no such\nheading](target.md#twice-2)\n\n"
        "[escapes](../../elsewhere.md)\n\n"
        "[ref]: gone.md\n",
        encoding="utf-8",
    )

    assert broken_links([document]) == [
        "docs/page.md:10: missing.md: no such file or folder",
        "docs/page.md:11: target.md#twice-2: no heading #twice-2 in docs/target.md",
        "docs/page.md:13: ../../elsewhere.md: points outside the repository",
        "docs/page.md:15: gone.md: no such file or folder",
    ]

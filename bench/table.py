"""What `make bench` prints: a Markdown row per measure (its median, min and max over runs) on stdout
as each is measured, then the whole table aligned; progress on stderr."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass

HEADER = ("measure", "unit", "median", "min", "max", "baseline (median)", "ratio", "note")
# The widths rows are padded to as they are printed, before the others are known: most cells fit.
STREAMED_WIDTHS = (64, 5, 6, 6, 6, 24, 6, 4)


@dataclass(frozen=True, slots=True)
class Row:
    measure: str
    unit: str
    samples: Sequence[float]
    baseline: Sequence[float] = ()
    baseline_name: str = ""
    note: str = ""

    def cells(self) -> tuple[str, ...]:
        if not self.samples:
            return (self.measure, self.unit, "-", "-", "-", "", "", self.note)
        median = statistics.median(self.samples)
        base = statistics.median(self.baseline) if self.baseline else None
        return (
            self.measure,
            self.unit,
            _number(median),
            _number(min(self.samples)),
            _number(max(self.samples)),
            f"{_number(base)} {self.baseline_name}" if base is not None else "",
            f"{median / base:.2f}x" if base else "",
            self.note,
        )


def _number(value: float) -> str:
    if value == int(value) or abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"


def _rule(widths: Sequence[int]) -> str:
    return "|" + "|".join("-" * (width + 2) for width in widths) + "|"


def render(rows: Sequence[Row]) -> str:
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    rendered = [_line(line, widths) for line in lines]
    rendered.insert(1, _rule(widths))
    return "\n".join(rendered)


def print_header() -> None:
    print(_line(HEADER, STREAMED_WIDTHS), _rule(STREAMED_WIDTHS), sep="\n", flush=True)


def print_row(row: Row) -> None:
    """`row` on stdout now, flushed: a long run shows each figure as it comes."""
    print(_line(row.cells(), STREAMED_WIDTHS), flush=True)


def progress(step: str) -> None:
    print(f"bench: {step}...", file=sys.stderr, flush=True)

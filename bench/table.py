"""The one table `make bench` prints, as Markdown: a row per measure, its median, min and max over runs."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

HEADER = ("measure", "unit", "median", "min", "max", "baseline (median)", "ratio", "note")


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


def render(rows: Sequence[Row]) -> str:
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(HEADER))]
    rendered = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |" for line in lines
    ]
    rendered.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(rendered)

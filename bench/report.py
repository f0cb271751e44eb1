"""The one table the bench prints: a row per measurement, with its baseline and target."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Row:
    section: str
    metric: str
    unit: str
    samples: Sequence[float]
    baseline: Sequence[float] = ()
    baseline_name: str = ""
    # "max:1.3" (ratio at most), "min:2" (ratio at least), "eq:1" (median exactly), or "".
    target: str = ""
    note: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.samples) if self.samples else None

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        median, base = self.median, self.baseline_median
        if median is None or not base:
            return None
        return median / base

    def verdict(self) -> str:
        if not self.target:
            return ""
        kind, _, raw = self.target.partition(":")
        bound = float(raw)
        if kind == "eq":
            value = self.median
            met = value is not None and all(sample == bound for sample in self.samples)
            return f"={bound:g} {'met' if met else 'MISSED'}"
        ratio = self.ratio
        if ratio is None:
            return f"{self.target} n/a"
        met = ratio <= bound if kind == "max" else ratio >= bound
        symbol = "≤" if kind == "max" else "≥"
        return f"{symbol}{bound:g}x {'met' if met else 'MISSED'}"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render(rows: Sequence[Row]) -> str:
    header = ("section", "metric", "unit", "median", "min", "max", "baseline", "ratio", "target", "note")
    lines: list[tuple[str, ...]] = [header]
    for row in rows:
        ratio = row.ratio
        baseline = f"{_number(row.baseline_median)} ({row.baseline_name})" if row.baseline_name else ""
        lines.append(
            (
                row.section,
                row.metric,
                row.unit,
                _number(row.median),
                _number(min(row.samples)) if row.samples else "-",
                _number(max(row.samples)) if row.samples else "-",
                baseline,
                f"{ratio:.2f}x" if ratio is not None else "",
                row.verdict(),
                row.note,
            )
        )
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    rendered = [
        " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    rendered.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(rendered)

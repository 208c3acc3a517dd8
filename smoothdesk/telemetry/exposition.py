"""The Prometheus text format (0.0.4) for gauges, written directly.

prometheus_client's families, registry and generate_latest were a sixth of the helper's CPU at a
scrape a second (bench/bench_overhead.py) and 12 MB resident; a gauge's line is simple enough to
write here. The tests read the output back with prometheus_client's own parser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(slots=True)
class Gauge:
    """One gauge family: unlabelled (`label` None, one value) or labelled by one label."""

    name: str
    doc: str
    label: str | None = None
    values: dict[str, float] = field(default_factory=dict)

    @classmethod
    def single(cls, name: str, doc: str, value: float) -> Gauge:
        return cls(name, doc, None, {"": float(value)})

    @classmethod
    def by_label(cls, name: str, doc: str, label: str, values: Mapping[str, float]) -> Gauge:
        return cls(name, doc, label, {k: float(v) for k, v in values.items()})


def number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _doc(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render(gauges: Iterable[Gauge]) -> bytes:
    lines: list[str] = []
    for g in gauges:
        lines.append(f"# HELP {g.name} {_doc(g.doc)}")
        lines.append(f"# TYPE {g.name} gauge")
        if g.label is None:
            lines.extend(f"{g.name} {number(v)}" for v in g.values.values())
        else:
            lines.extend(
                f'{g.name}{{{g.label}="{_label_value(k)}"}} {number(v)}' for k, v in g.values.items()
            )
    lines.append("")
    return "\n".join(lines).encode()

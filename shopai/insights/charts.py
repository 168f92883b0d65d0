"""Charts drawn on the server as SVG (matplotlib), each with the table of numbers behind it.

Text stays text in the SVG (``svg.fonttype: none``): it is searchable, the browser draws Chinese
with its own fonts, and matplotlib escapes it, so a shopper's query such as ``<script>`` is shown,
never run. Charts are small, print well and need no JavaScript.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape

# One lock: matplotlib's text layout caches are not thread-safe (threaded web servers).
_DRAWING = threading.Lock()
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "shopai",  # the same chart, the same SVG (ids do not change between renders)
    "font.size": 9,
    # matplotlib's own font for the layout; text stays text, so the browser draws Chinese with its fonts.
    "font.family": ["DejaVu Sans", "sans-serif"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
COLOURS = ["#417690", "#e0862d", "#5b9a5b", "#b0413e", "#8064a2", "#7f7f7f", "#c9a227", "#4bacc6"]
_XML_HEAD = re.compile(r"^.*?(?=<svg)", re.DOTALL)


@dataclass
class Chart:
    """What to draw and the numbers behind it.

    ``kind``: "line" (x = labels in order, one line per series), "bar" (grouped bars per label),
    "barh" (horizontal bars, for ranked lists with long labels), "interval" (a point and its
    low–high range per label: ``series`` holds "value", "low", "high").
    """

    name: str
    title: str
    kind: str
    labels: list[str]
    series: dict[str, list[float]]
    columns: list[str] = field(default_factory=list)  # the table's header; default: label + series names
    rows: list[list[Any]] | None = None  # the table's rows; default: one per label
    percent: bool = False
    note: str = ""
    drawn: str | None = None  # the SVG, once drawn (kept with the figures in the cache)

    @property
    def empty(self) -> bool:
        return not self.labels or not any(any(value for value in values) for values in self.series.values())

    def table(self) -> tuple[list[str], list[list[Any]]]:
        columns = self.columns or ["", *self.series]
        if self.rows is not None:
            return columns, self.rows
        return columns, [
            [label, *(values[i] for values in self.series.values())] for i, label in enumerate(self.labels)
        ]

    def csv(self) -> str:
        columns, rows = self.table()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_csv_safe(value) for value in columns])
        for row in rows:
            writer.writerow([_csv_safe(value) for value in row])
        return out.getvalue()

    def draw(self) -> str:
        """The SVG, drawn on first use and kept."""
        if self.drawn is None and not self.empty:
            self.drawn = self.svg()
        return self.drawn or ""

    def svg(self) -> str:
        """The chart as an inline ``<svg>`` element (no XML header), safe to put in a page."""
        matplotlib = _matplotlib()
        with _DRAWING, matplotlib.rc_context(_STYLE), warnings.catch_warnings():
            # "Glyph … missing from font" for Chinese labels: measured with DejaVu's widths, drawn by the browser.
            warnings.simplefilter("ignore", UserWarning)
            return _draw(self)


def _csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _short(label: str, width: int = 38) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _matplotlib():
    """matplotlib, imported on the first chart (0.4 s and its memory): not in every process that loads
    shopai's admin, URLs or tasks. Figures are drawn without pyplot, so the process's backend is left alone."""
    import matplotlib

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # no "findfont" line per chart
    return matplotlib


def _draw(chart: Chart) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    rows = len(chart.labels)
    height = 2.6 if chart.kind != "barh" else max(1.6, 0.26 * rows + 0.7)
    # Fixed margins: a constrained layout costs as much again as the drawing (about 0.1 s a chart).
    figure = Figure(figsize=(7.2, height), dpi=96)
    figure.subplots_adjust(
        left=0.34 if chart.kind == "barh" else 0.08,
        right=0.98,
        top=1 - 0.32 / height,
        bottom=0.16 if chart.kind != "barh" else 0.4 / height,
    )
    axes = figure.add_subplot()
    positions = list(range(rows))
    names = list(chart.series)
    if chart.kind == "line":
        for index, name in enumerate(names):
            axes.plot(positions, chart.series[name], label=name, color=COLOURS[index % len(COLOURS)], linewidth=1.6)
        _date_ticks(axes, chart.labels)
    elif chart.kind in ("bar", "barh"):
        _bars(axes, chart, positions, horizontal=chart.kind == "barh")
    elif chart.kind == "interval":
        values, low, high = (chart.series[key] for key in ("value", "low", "high"))
        errors = [
            [v - lo for v, lo in zip(values, low, strict=True)],
            [hi - v for v, hi in zip(values, high, strict=True)],
        ]
        axes.errorbar(positions, values, yerr=errors, fmt="o", capsize=6, color=COLOURS[0], linewidth=1.6)
        axes.set_xticks(positions, [_short(label, 20) for label in chart.labels])
        axes.set_xlim(-0.6, rows - 0.4)
    else:
        raise ValueError(f"Unknown chart kind {chart.kind!r}.")
    if chart.percent:
        formatter = PercentFormatter(xmax=1.0, decimals=0)
        (axes.xaxis if chart.kind == "barh" else axes.yaxis).set_major_formatter(formatter)
    if len(names) > 1 and chart.kind != "interval":
        axes.legend(frameon=False, fontsize=8, loc="best")
    axes.set_title(chart.title, loc="left", fontsize=10)
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    svg = _XML_HEAD.sub("", out.getvalue(), count=1)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(chart.title)}" ', 1)


def _bars(axes, chart: Chart, positions: list[int], *, horizontal: bool) -> None:
    """Grouped bars, one group per label; horizontal for ranked lists with long labels (first on top)."""
    names = list(chart.series)
    width = 0.8 / max(1, len(names))
    draw = axes.barh if horizontal else axes.bar
    for index, name in enumerate(names):
        offset = (index - (len(names) - 1) / 2) * width
        spots = [p + offset for p in positions]
        colour = COLOURS[index % len(COLOURS)]
        if horizontal:
            draw(spots, chart.series[name], height=width, label=name, color=colour)
        else:
            draw(spots, chart.series[name], width=width, label=name, color=colour)
    if horizontal:
        axes.set_yticks(positions, [_short(label) for label in chart.labels])
        axes.invert_yaxis()
    else:
        axes.set_xticks(positions, [_short(label, 16) for label in chart.labels])



def _date_ticks(axes, labels: Sequence[str]) -> None:
    """At most about eight date labels under a daily line."""
    if not labels:
        return
    step = max(1, len(labels) // 8)
    ticks = list(range(0, len(labels), step))
    axes.set_xticks(ticks, [labels[i][5:] if len(labels[i]) == 10 else labels[i] for i in ticks])
    axes.set_xlim(-0.5, len(labels) - 0.5)
    axes.set_ylim(bottom=0)

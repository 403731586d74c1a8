"""PNG images of a result's plot series, drawn with matplotlib (Agg, no display).

Each image keeps the JSON plot's title, axis labels and legends, so the
picture and the series a program reads say the same thing. Names:
``AUW_vs_GAMMA``, ``FLEX_REVENUES``, ``FLEX_QUANTITY`` and, per gamma index
``i``, ``UW_BAR_<i>`` and ``FINAL_ECC_<i>``.
"""

import io
import re
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from BRTP.data.dataset import Dataset

WIDTH_PX, HEIGHT_PX, DPI = 800, 450, 100
#: Above this many users the per-user chart is drawn as one filled step series instead of bars.
MAX_BARS = 200
SINGLE = ("AUW_vs_GAMMA", "FLEX_REVENUES", "FLEX_QUANTITY")
PER_GAMMA = re.compile(r"^(UW_BAR|FINAL_ECC)_(\d+)$")


class UnknownPlot(LookupError):
    """No plot of that name in the result."""


def plot_names(plots: dict[str, Any]) -> list[str]:
    """Every image name a result has, in display order."""
    names = list(SINGLE)
    names += [f"FINAL_ECC_{i}" for i in range(len(plots.get("FINAL_ECC", [])))]
    names += [f"UW_BAR_{i}" for i in range(len(plots.get("UW_BAR", [])))]
    return names


def select(plots: dict[str, Any], name: str) -> dict[str, Any]:
    """The JSON plot behind an image name."""
    if name in SINGLE:
        return dict(plots[name])
    match = PER_GAMMA.match(name)
    if match:
        series = plots.get(match.group(1), [])
        index = int(match.group(2))
        if index < len(series):
            return dict(series[index])
    raise UnknownPlot(name)


def _values(values: list[float | None]) -> list[float]:
    return [float("nan") if v is None else v for v in values]


def render_png(plots: dict[str, Any], name: str, user_names: list[str]) -> bytes:
    """Draw one plot of a result as a PNG of 800 x 450 pixels (UW_BAR bars labelled with ``user_names``)."""
    plot = select(plots, name)
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    series = plot["serries"]
    if name.startswith("UW_BAR"):
        labels = user_names or [str(x) for x in series[0]["xvalues"]]
        values = _values(series[0]["yvalues"])
        if len(values) > MAX_BARS:  # thousands of bars take seconds to draw; one filled step series looks the same
            axes.fill_between(range(len(values)), values, step="mid", color="#4c78a8", linewidth=0)
        else:
            axes.bar(range(len(values)), values, color="#4c78a8")
        axes.axhline(1.0, color="#888", linewidth=0.8, linestyle="--", label="RTP (γ = 0)")
        if len(labels) > 40:  # unreadable as ticks (and slow to lay out): users are in raw_data["USERS"]
            axes.set_xticks([])
        else:
            axes.set_xticks(range(len(values)), labels, rotation=60 if len(labels) > 6 else 0, ha="right", fontsize=8)
        axes.legend(loc="best", fontsize=8)
    elif plot.get("plot_type") == "bar":
        x = [f"{v:g}" for v in series[0]["xvalues"]]
        axes.bar(x, _values(series[0]["yvalues"]), color="#f58518")
    else:
        styles = [("#4c78a8", "--", "o"), ("#e45756", "-", "s")]
        for number, line in enumerate(series):
            colour, dash, marker = styles[number % len(styles)]
            axes.plot(
                line["xvalues"],
                _values(line["yvalues"]),
                dash,
                color=colour,
                marker=marker,
                markersize=3,
                label=line.get("legend"),
            )
        if any(line.get("legend") for line in series):
            axes.legend(loc="best", fontsize=8)
    axes.set_title(plot.get("title") or name.replace("_", " "), fontsize=11)
    axes.set_xlabel(plot.get("xlabel", ""))
    axes.set_ylabel(plot.get("ylabel", ""))
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def dataset_png(dataset: Dataset) -> bytes:
    """A dataset at a glance as an 800 x 450 PNG.

    Per slot: the aggregate desired and base load of every prosumer (kW, left
    axis) and each flex request's largest step ``max_k Q[t, k]`` (kW, right
    axis; the first five requests).
    """
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    edges = range(dataset.grid.n_slots + 1)  # each slot drawn over its whole width, the last one included

    def per_slot(values: Any) -> Any:
        return [*values, values[-1]]

    axes.step(edges, per_slot(dataset.desired_kw.sum(axis=0)), where="post", color="#4c78a8", label="desired load")
    base = per_slot(dataset.baseload_kw.sum(axis=0))
    axes.step(edges, base, where="post", color="#72b7b2", linestyle=":", label="base load")
    axes.set_xlabel(f"slot ({dataset.grid.dt_hours:g} h) from {dataset.grid.label(0)}")
    axes.set_ylabel("all prosumers (kW)")
    requests = axes.twinx()
    colours = ["#f58518", "#54a24b", "#e45756", "#b279a2", "#9d755d"]
    for name, colour in zip(sorted(dataset.flex_requests), colours, strict=False):
        largest = per_slot(dataset.flex_requests[name].quantity.max(axis=-1, initial=0.0))
        requests.step(edges, largest, where="post", color=colour, linestyle="--", label=f"flex request {name}")
    requests.set_ylabel("flex requested (kW)")
    lines = axes.get_legend_handles_labels()
    more = requests.get_legend_handles_labels()
    axes.legend(lines[0] + more[0], lines[1] + more[1], loc="best", fontsize=8)
    axes.set_title(f"{dataset.n_users} prosumers: aggregate load and flex requests", fontsize=11)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()

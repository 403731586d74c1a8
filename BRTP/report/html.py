"""A result as one self-contained HTML page (plots embedded), the same report the service shows."""

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from BRTP.report.images import plot_names, render_png
from BRTP.report.tables import kpi_rows, welfare_rows

#: The report templates; the service's pages load them too.
TEMPLATE_DIR = Path(__file__).parent / "templates"
_TEMPLATES = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class ReportRequest:
    """What was priced: shown at the top of the report."""

    source: str
    start: str
    end: str
    prosumers: Sequence[str]
    flex_request: str
    profit_margin: float
    gammas: Sequence[float]


def render_images(result: dict[str, Any]) -> dict[str, bytes]:
    """Every plot of a ``PricingData`` result as PNG bytes, by name."""
    users = list(result["raw_data"].get("USERS", []))
    return {name: render_png(result["plots"], name, users) for name in plot_names(result["plots"])}


def standalone_report(result: dict[str, Any], request: ReportRequest, images: dict[str, bytes]) -> str:
    """The report page of a ``PricingData`` result with its ``images`` embedded (no server, no network)."""
    raw = result["raw_data"]
    embedded = [(name, "data:image/png;base64," + base64.b64encode(data).decode()) for name, data in images.items()]
    return _TEMPLATES.get_template("standalone.html").render(
        made=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        source=request.source,
        start=request.start,
        end=request.end,
        prosumers=list(request.prosumers),
        flex_request=request.flex_request,
        profit_margin=request.profit_margin,
        requested_gammas=list(request.gammas),
        warnings=result.get("warnings", []),
        kpis=kpi_rows(raw),
        welfare=welfare_rows(raw),
        gammas=raw["GAMMA"],
        images=embedded,
    )

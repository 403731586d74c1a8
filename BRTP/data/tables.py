"""The tidy portfolio package: six long-format tables every input format maps to.

A package is a folder or ``.zip`` with one file per table, ``NAME.csv`` or
``NAME.parquet``, one header row, the columns below (extra columns are
ignored). Timestamps are RFC 3339 with a time zone and mark slot starts.
:data:`TABLES` is the one description of them: the readers check against it
and :func:`datapackage` turns it into a Frictionless Data Package descriptor
(Table Schema: types, units, keys) written next to every exported package
and shipped as ``docs/datapackage.json``.
"""

import re
from dataclasses import dataclass
from typing import Any, Literal

FieldType = Literal["string", "number", "integer", "datetime"]


@dataclass(frozen=True)
class Column:
    """One column of a table."""

    name: str
    type: FieldType
    description: str
    unit: str = ""
    required: bool = True
    constraints: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Table:
    """One table of the package: its columns, primary key and references to other tables."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ()
    optional: bool = False

    @property
    def required_columns(self) -> list[str]:
        """Columns a file of this table must have."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)


_NON_NEGATIVE = (("minimum", 0),)
_PROSUMER = Column("prosumer", "string", "prosumer name (unique in prosumers)")
_TIMESTAMP = Column("timestamp", "datetime", "slot start, RFC 3339 with a time zone")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "prosumers",
            "The prosumers (demand-response users) of the portfolio.",
            (_PROSUMER, Column("flexibility_level", "string", "e.g. Low, Medium, High", required=False)),
            ("prosumer",),
        ),
        Table(
            "consumption",
            "Desired consumption of the curtailable bundle and its baseload: one row per prosumer and slot.",
            (
                _PROSUMER,
                _TIMESTAMP,
                Column("desired_kw", "number", "desired consumption xc, baseload included", "kW", True, _NON_NEGATIVE),
                Column("base_kw", "number", "baseload b, never curtailed", "kW", True, _NON_NEGATIVE),
            ),
            ("prosumer", "timestamp"),
            ((("prosumer",), "prosumers", ("prosumer",)),),
        ),
        Table(
            "curtailment_offers",
            "Each prosumer's curtailment offer per slot: a cumulative offer curve, steps 1..K "
            "(the central DB's flexibility list).",
            (
                _PROSUMER,
                _TIMESTAMP,
                Column("step", "integer", "step number, 1..K", "", True, (("minimum", 1),)),
                Column(
                    "price_eur_per_kw", "number", "marginal discomfort at this quantity", "EUR/kW", True, _NON_NEGATIVE
                ),
                Column("quantity_kw", "number", "cumulative quantity offered", "kW", True, _NON_NEGATIVE),
            ),
            ("prosumer", "timestamp", "step"),
            ((("prosumer",), "prosumers", ("prosumer",)),),
            optional=True,
        ),
        Table(
            "devices",
            "Shiftable devices and EVs.",
            (
                _PROSUMER,
                Column("device", "string", "device name, unique per prosumer"),
                Column("type", "string", "shiftable or ev", "", True, (("enum", ["shiftable", "ev"]),)),
                Column(
                    "charge_limit_kw",
                    "number",
                    "EV power cap (EVs; empty: the profile's peak)",
                    "kW",
                    False,
                    _NON_NEGATIVE,
                ),
                Column(
                    "deadline", "datetime", "latest slot start to finish by (empty: the desired finish)", required=False
                ),
                Column(
                    "delay_price_eur_per_kw",
                    "number",
                    "price per kWh and hour of delay past the desired finish",
                    "EUR/kWh/h",
                    True,
                    _NON_NEGATIVE,
                ),
            ),
            ("prosumer", "device"),
            ((("prosumer",), "prosumers", ("prosumer",)),),
            optional=True,
        ),
        Table(
            "device_consumption",
            "Each device's desired power profile (slots without a row are 0; the first and last row "
            "mark the desired start and finish).",
            (
                _PROSUMER,
                Column("device", "string", "device name"),
                _TIMESTAMP,
                Column("kw", "number", "desired power", "kW", True, _NON_NEGATIVE),
            ),
            ("prosumer", "device", "timestamp"),
            ((("prosumer", "device"), "devices", ("prosumer", "device")),),
            optional=True,
        ),
        Table(
            "flex_requests",
            "Flexibility requests: per slot, a cumulative demand curve for reductions, steps 1..K.",
            (
                Column("flex_request", "string", "flex request name"),
                _TIMESTAMP,
                Column("step", "integer", "step number, 1..K", "", True, (("minimum", 1),)),
                Column(
                    "price_eur_per_kw", "number", "price the buyer pays for this step", "EUR/kW", True, _NON_NEGATIVE
                ),
                Column("quantity_kw", "number", "cumulative quantity requested", "kW", True, _NON_NEGATIVE),
            ),
            ("flex_request", "timestamp", "step"),
            optional=True,
        ),
    )
}


def datapackage(name: str = "brtp-portfolio", file_format: str = "csv") -> dict[str, Any]:
    """A Frictionless Data Package descriptor of the package (Table Schema per table)."""
    resources = []
    for table in TABLES.values():
        fields = []
        for column in table.columns:
            field: dict[str, Any] = {"name": column.name, "type": column.type, "description": column.description}
            constraints = dict(column.constraints)
            if column.required:
                constraints["required"] = True
            if constraints:
                field["constraints"] = constraints
            if column.unit:
                field["unit"] = column.unit
            fields.append(field)
        schema: dict[str, Any] = {"fields": fields, "primaryKey": list(table.primary_key)}
        if table.foreign_keys:
            schema["foreignKeys"] = [
                {"fields": list(own), "reference": {"resource": other, "fields": list(theirs)}}
                for own, other, theirs in table.foreign_keys
            ]
        resource: dict[str, Any] = {
            "name": table.name,
            "path": f"{table.name}.{file_format}",
            "profile": "tabular-data-resource",
            "description": table.description,
            "schema": schema,
        }
        if file_format == "csv":
            resource |= {"format": "csv", "mediatype": "text/csv", "encoding": "utf-8"}
        else:
            resource |= {"format": "parquet", "mediatype": "application/vnd.apache.parquet"}
        resources.append(resource)
    return {
        "name": re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-") or "brtp-portfolio",
        "title": "B-RTP portfolio (tidy package)",
        "profile": "tabular-data-package",
        "resources": resources,
    }

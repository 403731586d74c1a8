"""KPI tables and CSV files of a stored result."""

import csv
import io
from typing import Any

from BRTP.report.series import ratio_to_reference

KPI_COLUMNS = [
    ("gamma", "GAMMA", "γ"),
    ("AUW", "AUW_BRTP", "AUW (€)"),
    ("TC", "TC_BRTP", "TC (€)"),
    ("BB", "BB_BRTP", "BB (€)"),
    ("FLEX_Q", "FLEX_Q", "FLEX_Q (kWh)"),
    ("FLEX_R", "FLEX_R", "FLEX_R (€)"),
    ("FLEX_DELIVERED", "FLEX_DELIVERED", "Delivered (kWh)"),
    ("DSO_REVENUE", "DSO_REVENUE", "DSO revenue (€)"),
]


def kpi_rows(raw: dict[str, Any]) -> list[dict[str, float | None]]:
    """One row per gamma: the KPIs of spec §6 and the AUW ratio to gamma 0."""
    rows = []
    auw = raw["AUW_BRTP"]
    for index in range(len(raw["GAMMA"])):
        row: dict[str, float | None] = {key: raw[source][index] for key, source, _ in KPI_COLUMNS}
        row["AUW_ratio"] = ratio_to_reference(auw[0], auw[index]) if None not in (auw[0], auw[index]) else None
        rows.append(row)
    return rows


def welfare_rows(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per user: UW for every gamma."""
    return [
        {"user": user, "uw": [raw["uw_bar_plot"][g][i] for g in range(len(raw["GAMMA"]))]}
        for i, user in enumerate(raw["USERS"])
    ]


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue()


def raw_data_csv(raw: dict[str, Any]) -> str:
    """``raw_data.csv``: one row per gamma with the KPIs."""
    header = [key for key, _, _ in KPI_COLUMNS] + ["AUW_ratio"]
    return _csv(header, [[row[name] for name in header] for row in kpi_rows(raw)])


def consumption_csv(raw: dict[str, Any]) -> str:
    """``consumption.csv``: slot, initial ECC, then the final ECC of every gamma (kW)."""
    gammas = raw["GAMMA"]
    header = ["slot", "initial_ecc_kw"] + [f"final_ecc_kw_gamma_{g:g}" for g in gammas]
    rows = [
        [slot, raw["INITIAL_ECC"][t]] + [raw["FINALCONS"][g][t] for g in range(len(gammas))]
        for t, slot in enumerate(raw["SLOTS"])
    ]
    return _csv(header, rows)

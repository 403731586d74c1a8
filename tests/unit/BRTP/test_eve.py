"""Parsing central-DB documents: shapes, and one bad-data test per error the parser names."""

import copy
import math

import numpy as np
import pytest

from BRTP import InfeasibleJobError, InvalidInputError
from tests.documents import Documents, build_job

USERS = ["user_1_High", "user_2_High"]
REQUEST = "flex_request_1_High"


@pytest.fixture
def docs(sample_docs: Documents) -> Documents:
    """A private, mutable copy of the sample documents."""
    return copy.deepcopy(sample_docs)


def prosumer_id(docs: Documents, name: str) -> str:
    return next(d["_id"] for d in docs["dr_prosumers"] if d["name"] == name)


def loads_of(docs: Documents, name: str) -> list[dict]:  # type: ignore[type-arg]
    pid = prosumer_id(docs, name)
    return sorted((d for d in docs["curtailable_loads"] if d["prosumer_id"] == pid), key=lambda d: d["timestamp"])


def entries_of(docs: Documents, name: str, device: str) -> list[dict]:  # type: ignore[type-arg]
    pid = prosumer_id(docs, name)
    return sorted(
        (d for d in docs["load_entries"] if d["prosumer_id"] == pid and d["obj_name"] == device),
        key=lambda d: d["timestamp"],
    )


def test_sample_job_parses_to_hourly_arrays(docs: Documents) -> None:
    portfolio, request = build_job(docs, USERS, REQUEST)
    assert portfolio.user_names == tuple(USERS)
    assert portfolio.n_slots == 24 and portfolio.dt == 1.0
    assert portfolio.devices.count == 8  # 3 devices and 1 EV each
    assert request.widths_kw.shape[0] == 24
    # Desired load is baseload + bundle + devices, never below the baseload.
    assert np.all(portfolio.desired_load_kw >= portfolio.baseload_kw)
    assert portfolio.warnings == ()


def test_real_export_parses_with_the_originals_join(shared_docs: Documents) -> None:
    portfolio, request = build_job(shared_docs, ["user_1_Low"], REQUEST)
    names = portfolio.devices.names
    assert names == ("user_1_Low/device_1", "user_1_Low/device_2", "user_1_Low/device_3", "user_1_Low/ev_1")
    ev = names.index("user_1_Low/ev_1")
    # ev_1 charges 00:00-02:00 with deadline 04:00 (the slot containing it, inclusive).
    assert (portfolio.devices.start[ev], portfolio.devices.finish[ev], portfolio.devices.deadline[ev]) == (0, 2, 4)
    assert portfolio.devices.power_cap_kw[ev] == 2.0
    # The (0, 0) origin step has no width; the first real step is 0.5589... EUR/kW.
    assert request.widths_kw[0, 0] == 0 and math.isclose(request.first_price[0], 0.5589672559022772)


def test_unequal_slot_counts_name_the_prosumer_and_the_missing_slot(docs: Documents) -> None:
    docs["curtailable_loads"].remove(loads_of(docs, "user_2_High")[5])
    with pytest.raises(
        InvalidInputError, match=r"user_2_High.*23 curtailable-load slots, expected 24.*2021-11-11T05:00:00Z"
    ):
        build_job(docs, USERS, REQUEST)


def test_duplicated_slot_names_the_prosumer_and_slot(docs: Documents) -> None:
    docs["curtailable_loads"].append(dict(loads_of(docs, "user_1_High")[7], _id="dup"))
    with pytest.raises(InvalidInputError, match=r"user_1_High: duplicated slot 2021-11-11T07:00:00Z"):
        build_job(docs, USERS, REQUEST)


def test_duplicated_device_entry_names_the_device(docs: Documents) -> None:
    entry = entries_of(docs, "user_2_High", "device_1")[0]
    docs["load_entries"].append(dict(entry, _id="dup"))
    with pytest.raises(InvalidInputError, match=r"user_2_High, device device_1: duplicated slot"):
        build_job(docs, USERS, REQUEST)


def test_device_price_change_names_the_device(docs: Documents) -> None:
    entries = entries_of(docs, "user_1_High", "ev_1")
    assert len(entries) >= 2
    entries[1]["price_euro_per_kw"] += 0.1
    with pytest.raises(InvalidInputError, match=r"user_1_High, device ev_1: price_euro_per_kw changes"):
        build_job(docs, USERS, REQUEST)


def test_deadline_before_desired_finish_names_the_device(docs: Documents) -> None:
    for entry in entries_of(docs, "user_2_High", "device_2"):
        entry["deadline"] = entry["timestamp"].replace("T", "T").replace(entry["timestamp"][11:13], "00", 1)
    with pytest.raises(
        InfeasibleJobError, match=r"user_2_High, device device_2: deadline .* before the desired finish"
    ):
        build_job(docs, USERS, REQUEST)


def test_ev_that_cannot_charge_before_its_deadline_is_infeasible(docs: Documents) -> None:
    prosumer = next(d for d in docs["dr_prosumers"] if d["name"] == "user_1_High")
    prosumer["EVs"][0]["charge_limit"] = 0.5
    entries = entries_of(docs, "user_1_High", "ev_1")
    for entry in entries:
        entry["deadline"] = entries[-1]["timestamp"]
    with pytest.raises(InfeasibleJobError, match=r"user_1_High/ev_1: needs .* kWh but can take at most .* at 0.5 kW"):
        build_job(docs, USERS, REQUEST)


def test_profile_above_charge_limit_is_spread_with_a_warning(docs: Documents) -> None:
    prosumer = next(d for d in docs["dr_prosumers"] if d["name"] == "user_1_High")
    peak = max(e["kw"] for e in entries_of(docs, "user_1_High", "ev_1"))
    prosumer["EVs"][0]["charge_limit"] = peak * 0.9
    portfolio, _ = build_job(docs, USERS, REQUEST)
    assert any("user_1_High, device ev_1" in w and "above charge_limit" in w for w in portfolio.warnings)


def test_non_monotone_offer_quantities_name_the_slot(docs: Documents) -> None:
    load = loads_of(docs, "user_1_High")[19]
    load["flexibility"][3]["quantity_kw"] = load["flexibility"][2]["quantity_kw"] / 2
    with pytest.raises(InvalidInputError, match=r"user_1_High: curtailable load at 2021-11-11T19:00:00.*not monotone"):
        build_job(docs, USERS, REQUEST)


def test_falling_offer_prices_are_rejected(docs: Documents) -> None:
    load = loads_of(docs, "user_2_High")[20]
    load["flexibility"][4]["price_euro_per_kw"] = 0.0001
    with pytest.raises(
        InvalidInputError, match=r"user_2_High: curtailable load at 2021-11-11T20:00:00.*offer curve is not monotone"
    ):
        build_job(docs, USERS, REQUEST)


def test_rising_request_prices_are_rejected(docs: Documents) -> None:
    request_id = next(d["_id"] for d in docs["flex_requests"] if d["name"] == REQUEST)
    point = next(
        d
        for d in docs["flex_request_data_points"]
        if d["flex_request_id"] == request_id and d["timestamp"].endswith("T18:00:00Z")
    )
    point["flexibility"][3]["price_euro_per_kw"] = 99.0
    with pytest.raises(
        InvalidInputError,
        match=r"flex request flex_request_1_High, slot 2021-11-11T18:00:00.*request curve is not monotone",
    ):
        build_job(docs, USERS, REQUEST)


@pytest.mark.parametrize(
    ("field", "value"),
    [("base_load_kw", -0.1), ("desired_consumption_kw", float("nan")), ("desired_consumption_kw", float("inf"))],
)
def test_negative_or_non_finite_loads_name_the_field(docs: Documents, field: str, value: float) -> None:
    loads_of(docs, "user_2_High")[3][field] = value
    with pytest.raises(InvalidInputError, match=rf"user_2_High: curtailable load at 2021-11-11T03:00:00.*{field}"):
        build_job(docs, USERS, REQUEST)


def test_negative_device_power_names_the_device(docs: Documents) -> None:
    entries_of(docs, "user_1_High", "device_3")[0]["kw"] = -1.0
    with pytest.raises(InvalidInputError, match=r"user_1_High, device device_3, slot .*: kw: negative"):
        build_job(docs, USERS, REQUEST)


def test_negative_request_quantity_is_rejected(docs: Documents) -> None:
    request_id = next(d["_id"] for d in docs["flex_requests"] if d["name"] == REQUEST)
    point = next(d for d in docs["flex_request_data_points"] if d["flex_request_id"] == request_id)
    point["flexibility"][1]["quantity_kw"] = -2.0
    with pytest.raises(InvalidInputError, match=r"flex request flex_request_1_High.*quantity_kw: negative"):
        build_job(docs, USERS, REQUEST)


def test_unknown_prosumer_is_named(docs: Documents) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown prosumer.*user_99_High"):
        build_job(docs, ["user_1_High", "user_99_High"], REQUEST)


def test_off_grid_timestamp_is_named(docs: Documents) -> None:
    loads_of(docs, "user_1_High")[2]["timestamp"] = "2021-11-11T02:30:00Z"
    with pytest.raises(InvalidInputError, match=r"user_1_High.*not on the 1.0 h slot grid"):
        build_job(docs, USERS, REQUEST)


def test_entry_with_unknown_offset_is_named(docs: Documents) -> None:
    entries_of(docs, "user_1_High", "device_2")[0]["offset"] = 7
    with pytest.raises(InvalidInputError, match=r"user_1_High.*offset 7 does not match"):
        build_job(docs, USERS, REQUEST)


def test_horizon_slices_a_longer_export(docs: Documents) -> None:
    portfolio, request = build_job(docs, USERS, REQUEST, start="2021-11-11T06:00:00Z", end="2021-11-11T18:00:00Z")
    assert portfolio.n_slots == 12 and request.widths_kw.shape[0] == 12

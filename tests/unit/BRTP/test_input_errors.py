"""Bad input gets one clear error naming the file (or sheet), the row (or cell) and the column: every family, every format."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from BRTP import InfeasibleJobError, InvalidInputError
from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.synthetic import flexgrid_dataset
from BRTP.data.workbook import write_workbook
from BRTP.errors import InputFileError
from swagger_server.sample_data.generator import generate_documents, write_documents

Frames = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def csv_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid tidy CSV package."""
    folder = tmp_path_factory.mktemp("valid") / "package"
    write_package(flexgrid_dataset(2, seed=3), folder, "csv")
    return folder


def broken_csv(source: Path, target: Path, change: Callable[[Frames], None]) -> Path:
    """A copy of ``source`` with ``change`` applied to its tables (read as text, written back as text)."""
    shutil.copytree(source, target)
    frames = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False) for p in target.glob("*.csv")}
    change(frames)
    for name in list(p.stem for p in target.glob("*.csv")):
        (target / f"{name}.csv").unlink()
    for name, frame in frames.items():
        frame.to_csv(target / f"{name}.csv", index=False)
    return target


def set_cell(table: str, row: int, column: str, value: str) -> Callable[[Frames], None]:
    """Set a value; ``row`` counts data rows from 0 (file row = row + 2)."""

    def change(frames: Frames) -> None:
        frames[table].loc[row, column] = value

    return change


def drop_column(table: str, column: str) -> Callable[[Frames], None]:
    def change(frames: Frames) -> None:
        frames[table] = frames[table].drop(columns=[column])

    return change


def repeat_row(table: str, row: int) -> Callable[[Frames], None]:
    def change(frames: Frames) -> None:
        frames[table] = pd.concat([frames[table], frames[table].iloc[[row]]], ignore_index=True)

    return change


def drop_row(table: str, row: int) -> Callable[[Frames], None]:
    def change(frames: Frames) -> None:
        frames[table] = frames[table].drop(index=row).reset_index(drop=True)

    return change


def drop_table(table: str) -> Callable[[Frames], None]:
    def change(frames: Frames) -> None:
        del frames[table]

    return change


def _offer_falls(frames: Frames) -> None:
    offers = frames["curtailment_offers"]
    # prosumer user_1_Low, first slot with a positive offer: make step 3's cumulative quantity fall below step 2's
    row = offers.index[(offers["step"] == "3") & (offers["quantity_kw"].astype(float) > 0)][0]
    offers.loc[row, "quantity_kw"] = "0.0000001"


def _request_price_rises(frames: Frames) -> None:
    requests = frames["flex_requests"]
    row = requests.index[requests["step"] == "2"][0]
    requests.loc[row, "price_eur_per_kw"] = "99"


def _deadline_too_early(frames: Frames) -> None:
    devices = frames["devices"]
    devices.loc[0, "deadline"] = "2021-11-11T00:00:00Z"


CSV_CASES = {
    # family: (change, expected file, row, column, words of the problem)
    "missing table": (drop_table("consumption"), "package", None, None, "has no consumption.csv"),
    "missing column": (drop_column("consumption", "base_kw"), "consumption.csv", None, "base_kw", "no column"),
    "unknown prosumer": (set_cell("consumption", 4, "prosumer", "ghost"), "consumption.csv", 6, "prosumer", "unknown prosumer 'ghost'"),
    "unknown device": (set_cell("device_consumption", 0, "device", "toaster"), "device_consumption.csv", 2, "device", "not in the devices table"),
    "duplicate key": (repeat_row("consumption", 3), "consumption.csv", None, "timestamp", "twice"),
    "duplicate prosumer": (repeat_row("prosumers", 1), "prosumers.csv", None, "prosumer", "appears twice"),
    "wrong type": (set_cell("consumption", 7, "desired_kw", "lots"), "consumption.csv", 9, "desired_kw", "'lots' is not a finite number"),
    "NaN": (set_cell("consumption", 7, "desired_kw", "nan"), "consumption.csv", 9, "desired_kw", "not a finite number"),
    "negative": (set_cell("consumption", 2, "base_kw", "-1"), "consumption.csv", 4, "base_kw", "negative value -1"),
    "empty required value": (set_cell("devices", 1, "delay_price_eur_per_kw", ""), "devices.csv", 3, "delay_price_eur_per_kw", "is empty"),
    "unknown device type": (set_cell("devices", 1, "type", "heat pump"), "devices.csv", 3, "type", "unknown type"),
    "missing slot": (drop_row("consumption", 5), "consumption.csv", None, "timestamp", "has no row for slot"),
    "off-grid timestamp": (set_cell("device_consumption", 0, "timestamp", "2021-11-11T03:30:00Z"), "device_consumption.csv", 2, "timestamp", "not on the 1 h slot grid"),
    "timestamp without zone": (set_cell("device_consumption", 0, "timestamp", "2021-11-11T03:00:00"), "device_consumption.csv", 2, "timestamp", "no time zone"),
    "not a timestamp": (set_cell("devices", 0, "deadline", "tomorrow"), "devices.csv", 2, "deadline", "not an RFC 3339 date-time"),
    "outside the data": (set_cell("device_consumption", 0, "timestamp", "2021-11-12T05:00:00Z"), "device_consumption.csv", 2, "timestamp", "outside the consumption data"),
    "non-monotone offer": (_offer_falls, "curtailment_offers.csv", None, "quantity_kw", "curve is not monotone"),
    "non-monotone request": (_request_price_rises, "flex_requests.csv", None, "price_eur_per_kw", "request curve is not monotone"),
    "step numbering": (set_cell("flex_requests", 1, "step", "7"), "flex_requests.csv", None, "step", "not numbered 1.."),
}  # fmt: skip


def assert_names_where(error: InputFileError, file: str, row: int | None, column: str | None, words: str) -> None:
    message = str(error)
    assert file in message, message
    if row is not None:
        assert f"row {row}" in message, message
    if column is not None:
        assert f"column {column}" in message, message
    assert words in message, message
    assert "Traceback" not in message


@pytest.mark.parametrize("family", CSV_CASES)
def test_csv_package_errors_name_file_row_and_column(csv_package: Path, tmp_path: Path, family: str) -> None:
    change, file, row, column, words = CSV_CASES[family]
    broken = broken_csv(csv_package, tmp_path / "package", change)
    with pytest.raises(InputFileError) as caught:
        load_dataset(broken)
    assert_names_where(caught.value, file, row, column, words)


def test_a_deadline_before_the_desired_finish_names_the_device_and_cell(csv_package: Path, tmp_path: Path) -> None:
    broken = broken_csv(csv_package, tmp_path / "package", _deadline_too_early)
    with pytest.raises(InfeasibleJobError, match=r"devices.csv, row 2, column deadline: prosumer user_1_Low, device"):
        load_dataset(broken)


def test_parquet_errors_count_rows_from_one(tmp_path: Path) -> None:
    dataset = flexgrid_dataset(2, seed=3)
    folder = tmp_path / "package"
    write_package(dataset, folder, "parquet")
    consumption = pd.read_parquet(folder / "consumption.parquet")
    consumption.loc[3, "base_kw"] = -2.0
    consumption.to_parquet(folder / "consumption.parquet")
    with pytest.raises(InputFileError) as caught:
        load_dataset(folder)
    assert_names_where(caught.value, "consumption.parquet", 4, "base_kw", "negative value -2")
    consumption = pd.read_parquet(folder / "consumption.parquet")
    consumption.loc[3, "base_kw"] = 0.1
    consumption["desired_kw"] = consumption["desired_kw"].astype(str)  # a text column, as a careless export makes
    consumption.loc[1, "desired_kw"] = "a lot"
    consumption.to_parquet(folder / "consumption.parquet")
    with pytest.raises(InputFileError) as caught:
        load_dataset(folder)
    assert_names_where(caught.value, "consumption.parquet", 2, "desired_kw", "'a lot' is not a finite number")


def test_a_file_of_no_known_kind_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "data.txt"
    junk.write_text("hello")
    with pytest.raises(InputFileError, match=r"data\.txt: is neither a workbook"):
        load_dataset(junk)
    with pytest.raises(InputFileError, match="no such file"):
        load_dataset(tmp_path / "missing.xlsx")


# ---------------------------------------------------------------------------- workbooks


@pytest.fixture(scope="module")
def workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workbook") / "BRTP Input.xlsx"
    write_workbook(flexgrid_dataset(3, seed=4), path)
    return path


def broken_workbook(source: Path, target: Path, sheet: str, cell: str, value: object) -> Path:
    book = load_workbook(source)
    book[sheet][cell] = value
    book.save(target)
    return target


WORKBOOK_CASES = {
    "empty cell": ("Desired Consumption", "D3", None, "cell D3", "column t=3", "is empty"),
    "text in a number cell": ("BaseLoad", "E2", "n/a", "cell E2", "column t=4", "'n/a' is not a number"),
    "negative device load": ("Shiftable Consumption", "F2", -1.5, "cell F2", "column t=4", "negative value -1.5"),
    "duplicate user": ("Desired Consumption", "A3", "user=1", "cell A3", "column user", "appears twice"),
    "offer quantity falls": ("Curtailable Offers HF", "R5", 0.0000001, "cell R5", "column quantity_kw", "not monotone"),
    "request price rises": ("Flex Request High", "B5", 99, "cell B5", "column price_eur_per_kw", "not monotone"),
}


@pytest.mark.parametrize("family", WORKBOOK_CASES)
def test_workbook_errors_name_sheet_cell_and_column(workbook: Path, tmp_path: Path, family: str) -> None:
    sheet, cell, value, where, column, words = WORKBOOK_CASES[family]
    broken = broken_workbook(workbook, tmp_path / "broken.xlsx", sheet, cell, value)
    with pytest.raises(InvalidInputError) as caught:
        load_dataset(broken)
    message = str(caught.value)
    assert "broken.xlsx" in message and f"sheet '{sheet}'" in message and where in message, message
    assert column in message and words in message, message


def test_a_missing_sheet_is_named(workbook: Path, tmp_path: Path) -> None:
    book = load_workbook(workbook)
    del book["BaseLoad"]
    book.save(tmp_path / "no-baseload.xlsx")
    with pytest.raises(InputFileError, match=r"no-baseload\.xlsx, sheet 'BaseLoad': the sheet is missing"):
        load_dataset(tmp_path / "no-baseload.xlsx")


def test_a_deadline_before_the_finish_names_the_deadline_cell(workbook: Path, tmp_path: Path) -> None:
    broken = broken_workbook(workbook, tmp_path / "early.xlsx", "Shiftable Deadlines LF", "B2", 1)
    with pytest.raises(InfeasibleJobError, match=r"sheet 'Shiftable Deadlines LF', cell B2, column deadline"):
        load_dataset(broken)


def test_a_file_named_xlsx_that_is_not_a_workbook(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match=r"fake\.xlsx: is not an \.xlsx workbook"):
        load_dataset(fake)


# ---------------------------------------------------------------------------- Eve JSON collections


@pytest.fixture(scope="module")
def eve_docs() -> dict[str, list[dict[str, object]]]:
    return generate_documents(users_per_level=1)


def broken_eve(docs: dict[str, list[dict[str, object]]], target: Path, change: Callable[[dict], None]) -> Path:  # type: ignore[type-arg]
    copy = json.loads(json.dumps(docs))
    change(copy)
    write_documents(copy, target)
    return target


EVE_CASES = {
    "negative": (lambda d: d["curtailable_loads"][5].update(base_load_kw=-3), "curtailable_loads.json", 6, "base_load_kw", "negative value -3"),
    "wrong type": (lambda d: d["load_entries"][2].update(kw="x"), "load_entries.json", 3, "kw", "'x' is not a finite number"),
    "off-grid timestamp": (lambda d: d["load_entries"][0].update(timestamp="2021-11-11T03:20:00Z"), "load_entries.json", 1, "timestamp", "not on the 1 h slot grid"),
    "unknown device": (lambda d: d["load_entries"][0].update(offset=9), "load_entries.json", 1, "offset", "match no device"),
    "changing deadline": (lambda d: d["load_entries"][1].update(deadline="2021-11-11T23:00:00Z"), "load_entries.json", 3, "deadline", "changes between entries"),
    "offer falls": (lambda d: d["curtailable_loads"][20]["flexibility"][3].update(quantity_kw=0.0), "curtailable_loads.json", 21, "flexibility.quantity_kw", "not monotone"),
    "duplicate slot": (lambda d: d["curtailable_loads"].append(d["curtailable_loads"][0]), "curtailable_loads.json", None, "timestamp", "twice"),
    "missing collection": (lambda d: d.pop("load_entries"), "eve", None, None, "has no load_entries.json"),
}  # fmt: skip


@pytest.mark.parametrize("family", EVE_CASES)
def test_eve_errors_name_file_document_and_field(eve_docs, tmp_path: Path, family: str) -> None:  # type: ignore[no-untyped-def]
    change, file, row, column, words = EVE_CASES[family]
    broken = broken_eve(eve_docs, tmp_path / "eve", change)
    with pytest.raises(InputFileError) as caught:
        load_dataset(broken)
    assert_names_where(caught.value, file, row, column, words)

"""The `brtp` command: run, validate and convert on the project's samples; bad input is exit 2 with a message."""

import json
from pathlib import Path

import pytest

from BRTP import pricing_data, run_brtp
from BRTP.cli import main
from BRTP.data.load import load_dataset
from BRTP.report.images import plot_names
from swagger_server.sample_data import USER_SAMPLES

WORKBOOK = USER_SAMPLES / "portfolio.xlsx"


def without_timings(result: dict) -> dict:  # type: ignore[type-arg]
    raw = {k: v for k, v in result["raw_data"].items() if k != "SOLVER"}
    return {"plots": result["plots"], "raw_data": raw, "warnings": result["warnings"]}


def test_run_writes_the_result_the_service_would_return_and_every_file(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    names = "user_1_High,user_2_High,user_3_Low"
    argv = ["run", str(WORKBOOK), "--flex-request", "flex_request_1_High", "--gammas", "0.5,1",
            "--margin", "0.2", "--out", str(tmp_path / "out"), "--prosumers", names,
            "--start", "2021-11-11T00:00:00Z", "--end", "2021-11-12T00:00:00Z"]  # fmt: skip
    assert main(argv) == 0
    out = tmp_path / "out"
    written = json.loads((out / "result.json").read_text())
    portfolio, request = load_dataset(WORKBOOK).job("flex_request_1_High", names.split(","))
    direct = run_brtp(portfolio, request, 0.2, [0.5, 1])
    expected = pricing_data(direct.user_names, direct.slot_starts, direct.kpis(), direct.warnings)
    assert without_timings(written) == without_timings(json.loads(json.dumps(expected)))
    assert (out / "raw_data.csv").read_text().splitlines()[0].startswith("gamma,AUW,TC,BB")
    assert len((out / "consumption.csv").read_text().splitlines()) == 1 + 24
    for name in plot_names(written["plots"]):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (out / "report.html").read_text()
    assert "data:image/png;base64," in report and "user_3_Low" in report and 'src="/' not in report
    assert "priced 3 prosumers x 3 gamma values" in capsys.readouterr().out


def test_validate_says_what_would_be_priced(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["validate", str(WORKBOOK)]) == 0
    shown = capsys.readouterr().out
    assert "30 prosumers" in shown and "24 slots of 1 h" in shown and "flex_request_1_Medium" in shown
    assert shown.strip().endswith("ok")


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_convert_writes_a_package_that_reads_back(tmp_path: Path, file_format: str) -> None:
    assert main(["convert", str(WORKBOOK), str(tmp_path / "pkg"), "--format", file_format]) == 0
    assert (tmp_path / "pkg" / f"consumption.{file_format}").is_file()
    assert (tmp_path / "pkg" / "datapackage.json").is_file()
    assert load_dataset(tmp_path / "pkg").n_users == 30


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["validate", "nowhere.xlsx"], "nowhere.xlsx: no such file or folder"),
        (["run", str(WORKBOOK), "--flex-request", "flex_request_9", "--gammas", "1", "--out", "o"], "unknown flex request 'flex_request_9'"),
        (["run", str(WORKBOOK), "--flex-request", "flex_request_1_Low", "--gammas", "1", "--out", "o", "--prosumers", "bob"], "unknown prosumer(s) in portfolio.xlsx: bob"),
        (["run", str(WORKBOOK), "--flex-request", "flex_request_1_Low", "--gammas", "1", "--out", "o", "--start", "2021-11-12T00:00:00Z", "--end", "2021-11-13T00:00:00Z"], "outside the data"),
    ],
)  # fmt: skip
def test_bad_input_is_exit_2_with_a_message_and_no_traceback(argv: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_bad_argument_is_exit_2_from_argparse(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        main(["run", str(WORKBOOK), "--flex-request", "x", "--gammas", "one,two", "--out", "o"])
    assert exited.value.code == 2
    assert "is not a comma-separated list of numbers" in capsys.readouterr().err

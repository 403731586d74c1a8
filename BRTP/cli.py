"""``brtp``: price your own portfolio from a terminal, no server needed.

    brtp run INPUT --flex-request NAME --gammas 0,0.5,1 --margin 0.2 --out DIR
             [--prosumers a,b,...] [--start TS] [--end TS] [--workbook-start TS]
    brtp validate INPUT
    brtp convert INPUT OUTDIR [--format csv|parquet]

INPUT is a FlexGrid "BRTP Input" workbook (``.xlsx``), a tidy package (folder
or ``.zip`` of CSV/Parquet tables) or the five central-DB collections (Eve
JSON, folder or ``.zip``). Exit status 0 on success, 2 on bad input (the
message on stderr, never a traceback), 1 when the solver fails.

argparse (the standard library) is enough for three sub-commands; no
command-line framework is added for it.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from BRTP.data.dataset import Dataset
from BRTP.data.load import load_dataset
from BRTP.data.package import write_package
from BRTP.data.timestamps import parse_timestamp
from BRTP.data.workbook import DEFAULT_START
from BRTP.errors import BrtpError, InvalidInputError, SolverError
from BRTP.options import BrtpOptions
from BRTP.report.html import ReportRequest, render_images, standalone_report
from BRTP.report.series import pricing_data
from BRTP.report.tables import consumption_csv, raw_data_csv
from BRTP.run import run_brtp

EXIT_BAD_INPUT = 2
EXIT_SOLVER = 1


def _gammas(text: str) -> list[float]:
    try:
        return [float(part) for part in text.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _timestamp(text: str) -> datetime:
    try:
        return parse_timestamp(text, "timestamp", require_zone=True)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = argparse.ArgumentParser(prog="brtp", description="B-RTP pricing of a portfolio of DR prosumers.")
    commands = root.add_subparsers(dest="command", required=True)

    def with_input(command: argparse.ArgumentParser) -> None:
        command.add_argument("input", type=Path, help=".xlsx workbook, tidy package or Eve JSON (folder or .zip)")
        command.add_argument(
            "--workbook-start",
            type=_timestamp,
            default=DEFAULT_START,
            help="first slot of a workbook, which has no date (default 2021-11-11T00:00:00Z)",
        )

    run = commands.add_parser("run", help="price a portfolio and write the results to a folder")
    with_input(run)
    run.add_argument("--flex-request", required=True, help="name of the flex request to price against")
    run.add_argument("--gammas", type=_gammas, required=True, help="gamma values, e.g. 0,0.5,1 (0 is always added)")
    run.add_argument("--margin", type=float, default=0.0, help="profit margin as a fraction (0.2 = 20 %%)")
    run.add_argument("--out", type=Path, required=True, help="output folder")
    run.add_argument("--prosumers", type=_names, help="comma-separated names (default: all)")
    run.add_argument("--start", type=_timestamp, help="first slot (default: the data's first)")
    run.add_argument("--end", type=_timestamp, help="end of the horizon, exclusive (default: the data's end)")
    run.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="gamma values solved at once (default: one per core)"
    )

    validate = commands.add_parser("validate", help="check an input and say what would be priced")
    with_input(validate)

    convert = commands.add_parser("convert", help="write any input as a tidy package with its datapackage.json")
    with_input(convert)
    convert.add_argument("outdir", type=Path, help="output folder")
    convert.add_argument("--format", choices=("csv", "parquet"), default="csv")
    return root


def command_run(args: argparse.Namespace) -> int:
    """Price the portfolio; write result.json, the CSV files, the PNG plots and report.html."""
    dataset = load_dataset(args.input, start=args.workbook_start)
    portfolio, request = dataset.job(args.flex_request, args.prosumers, args.start, args.end)
    del dataset  # the job holds what the solve needs; at 100 000 prosumers the tables are ~160 MB more
    with tqdm(total=len(set([0.0, *args.gammas])), unit="γ", disable=not sys.stderr.isatty(), desc="solving") as bar:
        options = BrtpOptions(threads=max(1, args.threads))
        result = run_brtp(portfolio, request, args.margin, args.gammas, options, lambda done, _: bar.update(1))
    data = pricing_data(result.user_names, result.slot_starts, result.kpis(), result.warnings)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "raw_data.csv").write_text(raw_data_csv(data["raw_data"]))
    (out / "consumption.csv").write_text(consumption_csv(data["raw_data"]))
    images = render_images(data)
    for name, png in images.items():
        (out / f"{name}.png").write_bytes(png)
    report = ReportRequest(
        source=args.input.name,
        start=portfolio.grid.label(0),
        end=portfolio.grid.end.isoformat().replace("+00:00", "Z"),
        prosumers=portfolio.user_names,
        flex_request=request.name,
        profit_margin=args.margin,
        gammas=args.gammas,
    )
    (out / "report.html").write_text(standalone_report(data, report, images))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"priced {portfolio.n_users} prosumers x {len(result.gammas)} gamma values; results in {out}/")
    print(result.kpis_frame()[["AUW", "TC", "BB", "FLEX_Q", "FLEX_R"]].to_string(float_format=lambda v: f"{v:.4g}"))
    return 0


def describe(dataset: Dataset) -> str:
    """What an input holds, in a few lines."""
    grid = dataset.grid
    devices = dataset.devices
    lines = [
        f"{dataset.source}: {dataset.n_users} prosumers, {len(devices.name)} devices "
        f"({int(devices.is_ev.sum())} EVs), {grid.n_slots} slots of {grid.dt_hours:g} h "
        f"from {grid.label(0)} to {grid.end.isoformat().replace('+00:00', 'Z')}",
        f"prosumers: {', '.join(dataset.user_names[:10])}{' ...' if dataset.n_users > 10 else ''}",
        f"flex requests: {', '.join(dataset.flex_requests) or 'none'}",
    ]
    return "\n".join(lines)


def command_validate(args: argparse.Namespace) -> int:
    """Check the input, and every flex request over the whole horizon; print what would be priced."""
    dataset = load_dataset(args.input, start=args.workbook_start)
    print(describe(dataset))
    warnings = list(dataset.warnings)
    for name in dataset.flex_requests:
        portfolio, _ = dataset.job(name)
        warnings += [w for w in portfolio.warnings if w not in warnings]
    if not dataset.flex_requests:
        raise InvalidInputError(f"{dataset.source} has no flex request to price against")
    for warning in warnings:
        print(f"warning: {warning}")
    print("ok")
    return 0


def command_convert(args: argparse.Namespace) -> int:
    """Write the input as a tidy package."""
    dataset = load_dataset(args.input, start=args.workbook_start)
    written = write_package(dataset, args.outdir, args.format)
    print(f"wrote {len(written)} files to {args.outdir}/: {', '.join(p.name for p in written)}")
    return 0


COMMANDS = {"run": command_run, "validate": command_validate, "convert": command_convert}


def main(argv: Sequence[str] | None = None) -> int:
    """Run a sub-command; bad input is a message on stderr and exit status 2, never a traceback."""
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SolverError as exc:
        print(f"brtp: the solver failed: {exc}", file=sys.stderr)
        return EXIT_SOLVER
    except BrtpError as exc:
        print(f"brtp: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

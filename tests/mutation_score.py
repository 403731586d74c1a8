"""The mutation score per module of the last ``make mutation`` run: ``python -m tests.mutation_score``.

Reads mutmut's results (``mutants/**/*.py.meta``). A mutant is *killed* when a
test failed on it (or it ran past its timeout); *survived* and *no tests* both
count against the score: ``score = killed / (killed + survived + no tests)``.
With ``--survivors`` it lists every surviving mutant's name (``mutmut show
<name>`` prints its diff).
"""

import argparse
import json
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

MUTANTS = Path("mutants")
DETECTED = {"killed", "timeout", "caught by type check"}
MISSED = {"survived", "no tests"}


def results(root: Path = MUTANTS) -> dict[str, dict[str, str]]:
    """Each mutated module's mutants and their status."""
    by_module: dict[str, dict[str, str]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        by_module[module] = {name: status_by_exit_code[code] for name, code in codes.items()}
    return by_module


def main() -> int:
    """Print the table (and the survivors with ``--survivors``); 1 if a mutant was not checked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list every mutant that was not killed")
    args = parser.parse_args()
    table = results()
    if not table:
        print("no mutmut results under mutants/: run `make mutation` first")
        return 1
    print(f"{'module':45} {'mutants':>8} {'killed':>7} {'survived':>9} {'no tests':>9} {'score':>7}")
    totals: Counter[str] = Counter()
    for module, statuses in table.items():
        counts = Counter(statuses.values())
        killed = sum(counts[s] for s in DETECTED)
        counted = killed + sum(counts[s] for s in MISSED)
        totals.update(counts)
        score = f"{100 * killed / counted:.1f} %" if counted else "-"
        print(f"{module:45} {len(statuses):8} {killed:7} {counts['survived']:9} {counts['no tests']:9} {score:>7}")
    killed = sum(totals[s] for s in DETECTED)
    counted = killed + sum(totals[s] for s in MISSED)
    print(f"{'all':45} {sum(totals.values()):8} {killed:7} {totals['survived']:9} {totals['no tests']:9} "
          f"{100 * killed / max(counted, 1):6.1f} %")  # fmt: skip
    if args.survivors:
        for statuses in table.values():
            for name, status in statuses.items():
                if status in MISSED:
                    print(f"{status:9} {name}")
    return 1 if totals["not checked"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

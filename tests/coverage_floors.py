"""Coverage floors per area, from coverage's JSON report: `python -m tests.coverage_floors coverage.json`.

coverage.py enforces one number for the whole package (`fail_under`); the pure core is held
higher than the code around it, so each area's lines and branches are added up here, printed
with its floor, and a run under any floor exits non-zero.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (area, path prefix, floor in %), the first matching prefix wins.
AREAS = [
    ("pipeline/core", "pipeline/core/", 95.0),
    ("pipeline/io", "pipeline/io/", 85.0),
    ("pipeline/ml", "pipeline/ml/", 85.0),
    ("pipeline/stages", "pipeline/stages/", 85.0),
    ("pipeline jobs", "pipeline/", 85.0),
    ("serving", "serving/", 85.0),
]


def total_floor() -> float:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return float(config["tool"]["coverage"]["report"]["fail_under"])


def percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def area_totals(files: dict[str, dict]) -> dict[str, tuple[int, int]]:
    """(covered, total) lines plus branches per area, as coverage counts them."""
    sums = {name: (0, 0) for name, _, _ in AREAS}
    for path, data in files.items():
        name = next((area for area, prefix, _ in AREAS if path.startswith(prefix)), None)
        if name is None:
            continue
        summary = data["summary"]
        covered = summary["covered_lines"] + summary.get("covered_branches", 0)
        total = summary["num_statements"] + summary.get("num_branches", 0)
        done, seen = sums[name]
        sums[name] = (done + covered, seen + total)
    return sums


def check(report: dict) -> list[str]:
    """Print each area and the total against its floor; return the misses."""
    misses = []
    sums = area_totals(report["files"])
    rows = [(name, percent(*sums[name]), floor) for name, _, floor in AREAS]
    rows.append(("total", report["totals"]["percent_covered"], total_floor()))
    print("coverage (lines and branches) by area, with its floor:")
    for name, got, floor in rows:
        verdict = "ok" if got >= floor else "UNDER"
        print(f"  {name:<16} {got:6.1f} %   floor {floor:4.0f} %   {verdict}")
        if got < floor:
            misses.append(f"{name} {got:.1f} % < {floor:.0f} %")
    return misses


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "coverage.json")
    misses = check(json.loads(path.read_text(encoding="utf-8")))
    if misses:
        print("coverage under its floor: " + "; ".join(misses) + " (add tests, or see what is missed above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Broken tables through the real prepare CLI: exit 2, a message naming the column or row and
the fix, and nothing written over what an earlier run prepared."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT


def rows(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n).round(3), "b": rng.integers(0, 9, size=n),
                         "target": np.arange(n) % 2})


def text(content: str):
    return lambda path: path.write_text(content)


def frame(table: pd.DataFrame):
    return lambda path: table.to_csv(path, index=False)


GOOD = rows().to_csv(index=False)
LINES = GOOD.splitlines()

CASES = {
    "empty file": (text(""), "the table is empty. Fix: point data.path at a table with rows"),
    "header only": (text("a,b,target\n"), "the table is empty"),
    "missing target": (frame(rows().drop(columns="target")),
                       "data.target 'target' is not a column. Columns: a, b. Fix: set data.target"),
    "one class only": (frame(rows().assign(target=1)),
                       "data.target 'target' has 1 distinct value(s): nothing to learn. Fix:"),
    "NaN in a feature": (frame(rows().assign(a=[1.0] * 7 + [np.nan] + [1.0] * 32)),
                         "column(s) ['a'] contain empty, NaN or infinite values (first in data row 8)"),
    "inf in a feature": (frame(rows().assign(b=[0.0] * 39 + [np.inf])),
                         "column(s) ['b'] contain empty, NaN or infinite values (first in data row 40)"),
    "text in a numeric column": (text(GOOD.replace(LINES[3], "oops," + LINES[3].split(",", 1)[1])),
                                 "not numbers: 'a' (text). Fix: set data.non_numeric to drop"),
    "duplicate column names": (text(GOOD.replace("a,b,target", "a,a,target", 1)),
                               "duplicate column name(s) ['a'] in the header. Fix: give every column"),
    "too few rows to split": (frame(rows(4)),
                              "class 0 has only 2 row(s): too few to stratify into train, validation "
                              "and holdout. Fix: add rows"),
    "ragged rows": (text(GOOD.replace(LINES[5], LINES[5] + ",7")),
                    "line 6 has 4 fields where the header has 3. Fix: repair that row"),
    "wrong delimiter": (text(GOOD.replace(",", ";")),
                        "the file looks separated by semicolons, not commas. Fix: save it as"),
    "all-empty column": (frame(rows().assign(notes=np.nan)), "'notes' (all empty). Fix:"),
    "absurd magnitudes": (frame(rows().assign(a=1e300)), "column(s) ['a'] exceed the float32 range"),
}


@pytest.fixture
def project(tmp_path):
    """A workspace with params pointing at user.csv and an earlier, good preparation."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"]["path"] = "user.csv"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    rows().to_csv(tmp_path / "user.csv", index=False)
    assert prepare_cli(tmp_path).returncode == 0
    return tmp_path


def prepare_cli(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.stages.prepare", *args], cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)}, timeout=120)


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_table_is_refused_with_where_and_the_fix(project, case):
    write, message = CASES[case]
    before = snapshot(project / "data/prepared")
    write(project / "user.csv")
    for args in ((), ("--check",)):  # the stage, and the retrain job's preflight
        done = prepare_cli(project, *args)
        assert done.returncode == 2, (case, done.stdout, done.stderr)
        assert message in done.stderr, (case, done.stderr)
        assert "Traceback" not in done.stderr
        assert snapshot(project / "data/prepared") == before  # nothing half-written or replaced


def test_the_preflight_accepts_a_good_table_and_writes_nothing(project):
    before = snapshot(project / "data/prepared")
    done = prepare_cli(project, "--check")
    assert done.returncode == 0
    assert "[prepare] user.csv: ok (40 rows, task binary)" in done.stdout
    assert snapshot(project / "data/prepared") == before

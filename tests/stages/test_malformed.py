"""Broken tables through the real prepare CLI: exit 2, a message naming the column or row and
the fix, and nothing written over what an earlier run prepared; and the tables that were
refused before raw tables were taken as they come (text, empty cells), now prepared."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT, committed_params


def rows(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"a": rng.normal(size=n).round(3), "b": rng.integers(0, 9, size=n), "target": np.arange(n) % 2}
    )


def text(content: str):
    return lambda path: path.write_text(content)


def frame(table: pd.DataFrame):
    return lambda path: table.to_csv(path, index=False)


GOOD = rows().to_csv(index=False)
LINES = GOOD.splitlines()

REFUSE = {"missing": "refuse"}

# case -> (how the table is broken, what the error says, data params beside path and target)
CASES = {
    "empty file": (text(""), "the table is empty. Fix: point data.path at a table with rows", {}),
    "header only": (text("a,b,target\n"), "the table is empty", {}),
    "missing target": (
        frame(rows().drop(columns="target")),
        "data.target 'target' is not a column. Columns: a, b. Fix: set data.target",
        {},
    ),
    "one class only": (
        frame(rows().assign(target=1)),
        "data.target 'target' has 1 distinct value(s): nothing to learn. Fix:",
        {},
    ),
    "no label at all": (
        frame(rows().assign(target=np.nan)),
        "data.target 'target' has 0 distinct value(s)",
        {},
    ),
    "NaN in a feature, refused": (
        frame(rows().assign(a=[1.0] * 7 + [np.nan] + [2.0] * 32)),
        "feature column(s) with missing values (empty, NaN or infinite): "
        "'a' (1 missing, first in data row 8). Fix: set data.missing to impute",
        REFUSE,
    ),
    "inf in a feature, refused": (
        frame(rows().assign(b=[0.0] * 39 + [np.inf])),
        "'b' (1 missing, first in data row 40). Fix: set data.missing",
        REFUSE,
    ),
    "duplicate column names": (
        text(GOOD.replace("a,b,target", "a,a,target", 1)),
        "duplicate column name(s) ['a'] in the header. Fix: give every column",
        {},
    ),
    "too few rows to split": (
        frame(rows(4)),
        "class 0 has only 2 row(s): too few to stratify into train, validation and holdout. Fix: add rows",
        {},
    ),
    "ragged rows": (
        text(GOOD.replace(LINES[5], LINES[5] + ",7")),
        "line 6 has 4 fields where the header has 3. Fix: repair that row",
        {},
    ),
    "wrong delimiter": (
        text(GOOD.replace(",", ";")),
        "the file looks separated by semicolons, not commas. Fix: save it as",
        {},
    ),
    "absurd magnitudes": (
        frame(rows().assign(a=lambda t: t["a"] * 1e300)),
        "column(s) ['a'] exceed the float32 range",
        {},
    ),
    "an override naming no column": (
        frame(rows()),
        "data.drop names 'c': not a feature column. Columns: a, b",
        {"drop": ["c"]},
    ),
    "text listed as numeric": (
        frame(rows().assign(b=["x", "y"] * 20)),
        "data.numeric lists column(s) that do not hold numbers: 'b' (text). Fix:",
        {"numeric": ["b"]},
    ),
    "no feature left": (
        frame(rows().assign(a=range(40), b=7)),
        "no feature column remains. Dropped: 'a': a row index (integers strictly increasing "
        "in row order); 'b': constant (every row holds 7). Fix:",
        {},
    ),
}

# Tables refused before issue 13 that are now prepared, and the line that says what was done.
ACCEPTED = {
    "an empty cell": (
        frame(rows().assign(a=[1.0] * 7 + [np.nan] + [2.0] * 32)),
        "missing values (data.missing = impute: imputed inside the model): 'a' 1",
    ),
    "an infinite value": (
        frame(rows().assign(b=[0.0] * 39 + [np.inf])),
        "missing values (data.missing = impute: imputed inside the model): 'b' 1",
    ),
    "text in a numeric column": (
        text(GOOD.replace(LINES[3], "oops," + LINES[3].split(",", 1)[1])),
        "dropped 'a': unique per row (an identifier or a name: 40 distinct "
        "values); 39 of 40 values are numbers but 'oops' (data row 3) is not: if "
        "the column is numeric, fix that value in the table",
    ),
    "text columns": (
        frame(rows().assign(colour=["red", "green", None, "blue"] * 10)),
        "kinds: numeric ['a', 'b']; categorical ['colour']",
    ),
    "all-empty column": (frame(rows().assign(notes=np.nan)), "dropped 'notes': all empty"),
    "unlabelled rows": (
        frame(rows().assign(target=[0, 1, None, 1] * 10)),
        "rows left out: 10 with no target",
    ),
}


def write_params(folder, **data) -> None:
    params = committed_params()
    params["data"] = {"path": "user.csv", "target": "target", **data}  # nothing else set
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.fixture
def project(tmp_path):
    """A workspace with params pointing at user.csv and an earlier, good preparation."""
    write_params(tmp_path)
    rows().to_csv(tmp_path / "user.csv", index=False)
    assert prepare_cli(tmp_path).returncode == 0
    return tmp_path


def prepare_cli(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.stages.prepare", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT)},
        timeout=120,
    )


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("case", list(CASES))
def test_a_broken_table_is_refused_with_where_and_the_fix(project, case):
    write, message, data = CASES[case]
    before = snapshot(project / "data/prepared")
    write(project / "user.csv")
    write_params(project, **data)
    for args in ((), ("--check",)):  # the stage, and the retrain job's preflight
        done = prepare_cli(project, *args)
        assert done.returncode == 2, (case, done.stdout, done.stderr)
        assert message in done.stderr, (case, done.stderr)
        assert "Traceback" not in done.stderr
        assert snapshot(project / "data/prepared") == before  # nothing half-written or replaced


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_what_was_refused_before_is_now_prepared_and_said(project, case):
    write, line = ACCEPTED[case]
    write(project / "user.csv")
    done = prepare_cli(project)
    assert done.returncode == 0, (case, done.stderr)
    assert f"[prepare] {line}" in done.stdout, (case, done.stdout)


def test_the_preflight_accepts_a_good_table_and_writes_nothing(project):
    before = snapshot(project / "data/prepared")
    done = prepare_cli(project, "--check")
    assert done.returncode == 0
    assert "[prepare] user.csv: ok (40 rows, task binary)" in done.stdout
    assert snapshot(project / "data/prepared") == before

"""Test projects are built from the committed project and the test's own params, whatever the
workspace holds after `make run` and `dvc exp run -S ...` there (tests/conftest.py)."""

from __future__ import annotations

import subprocess

import yaml

from tests import conftest

EDITED_CODE = "pipeline/stages/train.py"


def workspace_after_experiments(tmp_path):
    """A clone of the committed project whose work tree holds what a user's session leaves: an
    uncommitted code change, `dvc exp run -S` overrides in params.yaml, a dvc.lock, an MLflow
    store and DVC outputs."""
    clone = tmp_path / "workspace"
    subprocess.run(["git", "clone", "-q", str(conftest.ROOT), str(clone)], check=True)
    committed = yaml.safe_load((clone / "params.yaml").read_text())
    experiment = yaml.safe_load((clone / "params.yaml").read_text())
    experiment["train"]["learning_rate"] = 0.0003  # dvc exp run -S train.learning_rate=0.0003
    experiment["data"]["non_numeric"] = "one_hot"  # an override from an earlier experiment
    (clone / "params.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
    (clone / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (clone / "mlflow.db").write_bytes(b"runs of the workspace")
    (clone / "data/prepared").mkdir(parents=True)
    (clone / "data/prepared/schema.json").write_text("{}")
    with open(clone / EDITED_CODE, "a") as code:
        code.write("# a change under test, not committed yet\n")
    return clone, committed


def test_a_project_takes_committed_params_and_the_work_trees_code(tmp_path, monkeypatch):
    clone, committed = workspace_after_experiments(tmp_path)
    monkeypatch.setattr(conftest, "ROOT", clone)
    project = conftest.make_project(tmp_path / "project", {"train.epochs": 2})

    params = yaml.safe_load((project / "params.yaml").read_text())
    committed["train"]["epochs"] = 2  # the test's own override, and nothing else
    assert params == committed
    assert params["train"]["learning_rate"] != 0.0003
    assert (project / EDITED_CODE).read_text() == (clone / EDITED_CODE).read_text()
    for generated in ("dvc.lock", "mlflow.db", "data/prepared", "tests"):
        assert not (project / generated).exists(), generated
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # committed as a fresh clone would be


def test_committed_params_ignore_the_workspace(tmp_path, monkeypatch):
    clone, committed = workspace_after_experiments(tmp_path)
    monkeypatch.setattr(conftest, "ROOT", clone)
    assert conftest.committed_params() == committed

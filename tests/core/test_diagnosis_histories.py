"""The diagnosis on histories of real fits (tests/core/histories/, written by `python -m bench.histories`):
the project's model trained on the bundled tables with params provoking each failure, labelled by the
provocation before any curve was read. Exact verdicts, whatever the loss's scale, never against the
callbacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.diagnosis import NOTHING_TO_CHANGE, diagnose

FOLDER = Path(__file__).parent / "histories"
RECORDS = {path.stem: json.loads(path.read_text()) for path in sorted(FOLDER.glob("*.json"))}
DATASETS = ("breast_cancer", "wine", "digits", "diabetes", "diabetes_x1000")
CASES = ("healthy", "lr_too_high", "lr_too_low", "overfitting", "underfitting", "noisy_validation")


def judge(record: dict, scale: float = 1.0):
    history = {k: [x * scale for x in v] if "loss" in k else v for k, v in record["history"].items()}
    return diagnose(
        history,
        kept_epoch=record["kept_epoch"],
        early_stopped_epoch=record["early_stopped_epoch"],
        diverged=record["diverged"],
    )


def test_the_set_covers_every_task_and_case():
    assert set(RECORDS) == {f"{d}-{c}" for d in DATASETS for c in CASES}
    tasks = {r["task"] for r in RECORDS.values()}
    assert tasks == {"binary", "multiclass", "regression"}
    for record in RECORDS.values():
        assert len(record["history"]["loss"]) == len(record["history"]["val_loss"]) > 0


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_exact_verdict(name):
    record = RECORDS[name]
    assert judge(record).verdict == record["label"], judge(record).reason


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_loss_scale_never_matters(name):
    record = RECORDS[name]
    verdict = judge(record).verdict
    assert judge(record, 1e-4).verdict == verdict
    assert judge(record, 3e10).verdict == verdict  # an MSE on targets in the hundreds of thousands


def test_the_target_in_the_hundreds_of_thousands_reads_like_the_original():
    for case in CASES:
        assert judge(RECORDS[f"diabetes_x1000-{case}"]).verdict == judge(RECORDS[f"diabetes-{case}"]).verdict


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_the_verdict_never_contradicts_the_callbacks_or_itself(name):
    record = RECORDS[name]
    found = judge(record)
    if record["diverged"]:
        assert found.verdict == "diverged"
    if record["early_stopped_epoch"] is not None:
        assert found.verdict != "underfitting" and "train.epochs" not in found.fix
    assert (found.fix == NOTHING_TO_CHANGE) == (found.verdict == "healthy")
    if found.verdict == "overfitting":
        assert f"epoch {record['kept_epoch']}" in found.fix


def test_accuracy_on_the_labelled_set_is_at_least_90_percent():
    right = sum(judge(r).verdict == r["label"] for r in RECORDS.values())
    assert right / len(RECORDS) >= 0.9

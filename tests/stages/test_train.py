"""The train stage refuses the classic mistakes before any training, and nothing is written."""

from __future__ import annotations

import pytest

from pipeline.core.config import parse_params
from pipeline.core.errors import ConfigMismatchError
from pipeline.stages.prepare import prepare
from pipeline.stages.train import train
from tests.stages.test_prepare import good_table


def params(metric: str = "auto", **train):
    return parse_params(
        {
            "data": {"path": "t.csv", "target": "label"},
            "train": train,
            "register": {"model_name": "m", "metric": metric},
            "mlflow": {"experiment": "e"},
        }
    )


@pytest.mark.parametrize(
    ("train_params", "message"),
    [
        ({"loss": "categorical_crossentropy"}, "a multi-class loss, but the target has 2 classes"),
        ({"loss": "mse"}, "mse is a regression loss on class labels"),
        ({"from_logits": False}, "would read logits as probabilities"),
        (
            {"early_stopping": {"monitor": "val_f1"}},
            "train.early_stopping.monitor = 'val_f1' is never logged",
        ),
        ({"metric": "r2"}, "register.metric = 'r2' is not measured for a binary task"),
    ],
)
def test_mistakes_are_refused_before_training(tmp_path, monkeypatch, train_params, message):
    monkeypatch.chdir(tmp_path)
    good_table().to_csv("t.csv", index=False)
    prepare(params())
    with pytest.raises(ConfigMismatchError, match=message):
        train(params(**train_params))
    assert not (tmp_path / "models").exists()
    assert not (tmp_path / "mlflow.db").exists()  # no MLflow run was started

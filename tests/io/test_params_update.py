"""The best configuration goes into params.yaml in place: comments, order and layout stay."""

from __future__ import annotations

import pytest
import yaml

from pipeline.core.errors import ParamsError
from pipeline.io.params_update import set_values
from tests.conftest import committed


def test_values_are_set_and_everything_else_stays(tmp_path):
    path = tmp_path / "params.yaml"
    original = committed("params.yaml").decode()
    path.write_text(original)
    set_values(
        {"train.learning_rate": 0.0012345678912, "model.hidden_units": [64, 32], "train.optimizer": "sgd"},
        path,
    )
    written = path.read_text()
    values = yaml.safe_load(written)
    assert values["train"]["learning_rate"] == 0.0012345678912
    assert values["train"]["optimizer"] == "sgd"
    assert values["model"]["hidden_units"] == [64, 32]
    assert "  hidden_units: [64, 32]\n" in written
    changed = [(a, b) for a, b in zip(original.splitlines(), written.splitlines()) if a != b]
    assert len(original.splitlines()) == len(written.splitlines())
    assert [b.split("#")[0].strip() for _, b in changed] == [
        "hidden_units: [64, 32]",
        "optimizer: sgd",
        "learning_rate: 0.0012345678912",
    ]
    assert all("#" in b for a, b in changed if "#" in a)  # the comment beside a changed value stays


def test_a_key_params_yaml_lacks_is_refused(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train:\n  epochs: 3\n")
    with pytest.raises(ParamsError, match="has no 'train.learning_rate' to set"):
        set_values({"train.learning_rate": 0.1}, path)
    with pytest.raises(ParamsError, match="has no 'model.dropout'"):
        set_values({"model.dropout": 0.1}, path)
    assert path.read_text() == "train:\n  epochs: 3\n"

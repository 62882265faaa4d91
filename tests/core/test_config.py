import pytest

from pipeline.core.config import flatten, parse_params
from pipeline.core.errors import ParamsError

MINIMAL = {
    "data": {"path": "t.csv", "target": "y"},
    "register": {"model_name": "m"},
    "mlflow": {"experiment": "e"},
}


def test_defaults_fill_what_is_not_given():
    params = parse_params(MINIMAL)
    assert params.train.learning_rate == 1e-3
    assert params.train.early_stopping.restore_best_weights is True
    assert params.registry.metric == "auto"
    assert params.prepare.holdout_size == 0.2


def test_error_names_key_value_and_fix():
    raw = {**MINIMAL, "train": {"learning_rate": -1}}
    with pytest.raises(ParamsError) as exc:
        parse_params(raw)
    message = str(exc.value)
    assert "train.learning_rate = -1" in message
    assert "greater than 0" in message
    assert "dvc exp run -S train.learning_rate=<value>" in message


def test_unknown_key_is_refused_not_ignored():
    raw = {**MINIMAL, "train": {"learning_rat": 0.1}}
    with pytest.raises(ParamsError, match=r"train.learning_rat: unknown key"):
        parse_params(raw)


def test_missing_section_is_named():
    raw = {k: v for k, v in MINIMAL.items() if k != "register"}
    with pytest.raises(ParamsError, match=r"register: missing"):
        parse_params(raw)


def test_split_sizes_must_leave_training_rows():
    raw = {**MINIMAL, "prepare": {"val_size": 0.5, "holdout_size": 0.45}}
    with pytest.raises(ParamsError, match="too little to train on"):
        parse_params(raw)


def test_unknown_optimizer_lists_choices():
    raw = {**MINIMAL, "train": {"optimizer": "rmsprop"}}
    with pytest.raises(ParamsError, match=r"train.optimizer = 'rmsprop'.*'adam' or 'sgd'"):
        parse_params(raw)


def test_not_a_mapping():
    with pytest.raises(ParamsError, match="expected a mapping"):
        parse_params(["a"])


def test_flatten_joins_keys_with_dots():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {
        "a.b": 1,
        "a.c.d": [1, 2],
        "e": "x",
    }


def test_a_file_that_is_not_a_mapping_is_refused():
    with pytest.raises(ParamsError, match="^params.yaml: expected a mapping of sections, got list$"):
        parse_params(["data"])


def test_missing_and_unknown_keys_each_get_their_fix():
    with pytest.raises(ParamsError) as caught:
        parse_params({"data": {"path": "x.csv", "target": "y"}, "bogus": 1}, source="p.yaml")
    assert str(caught.value).splitlines() == [
        "p.yaml has 3 invalid value(s):",
        "  - register: missing. Fix: add it to p.yaml.",
        "  - mlflow: missing. Fix: add it to p.yaml.",
        "  - bogus: unknown key. Fix: remove it or correct its spelling.",
    ]


def test_the_baseline_is_on_and_never_gates_by_default():
    params = parse_params(MINIMAL)
    assert params.evaluate.baseline is True
    assert params.registry.require_beat_baseline is False


def test_requiring_the_baseline_that_is_turned_off_is_refused_with_the_fix():
    raw = {
        **MINIMAL,
        "evaluate": {"baseline": False},
        "register": {"model_name": "m", "require_beat_baseline": True},
    }
    with pytest.raises(ParamsError) as exc:
        parse_params(raw)
    message = str(exc.value)
    assert "register.require_beat_baseline = true needs the baseline" in message
    assert "set evaluate.baseline: true, or register.require_beat_baseline: false" in message

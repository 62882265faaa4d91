"""The search's pure part: a trial's values as params, the study's name, the printed command."""

from __future__ import annotations

import pytest

from pipeline.core.config import parse_params
from pipeline.core.errors import ParamsError
from pipeline.core.search import (
    SEARCHED,
    apply,
    budget_summary,
    current_choice,
    exp_run_command,
    overrides,
    study_name,
    units_key,
    units_of,
)

MINIMAL = {
    "data": {"path": "t.csv", "target": "y"},
    "register": {"model_name": "m"},
    "mlflow": {"experiment": "e"},
}
CHOSEN = {
    "learning_rate": 0.0031,
    "optimizer": "sgd",
    "batch_size": 64,
    "hidden_units": "64x32",
    "dropout": 0.25,
}


def params(**sections):
    return parse_params({**MINIMAL, **sections})


def test_units_key_round_trip():
    assert units_key([128, 64]) == "128x64"
    assert units_of("128x64") == [128, 64]
    assert units_of("16") == [16]
    with pytest.raises(ValueError, match="not a layer-widths key"):
        units_of("wide")
    with pytest.raises(ValueError, match="below 1"):
        units_of("0x4")


def test_overrides_name_every_searched_param():
    changes = overrides(CHOSEN)
    assert changes == {
        "train.learning_rate": 0.0031,
        "train.optimizer": "sgd",
        "train.batch_size": 64,
        "model.hidden_units": [64, 32],
        "model.dropout": 0.25,
    }
    assert tuple(changes) == SEARCHED
    with pytest.raises(ValueError, match="exactly"):
        overrides({**CHOSEN, "momentum": 0.5})


def test_apply_validates_and_leaves_the_rest():
    base = params(train={"epochs": 7})
    tuned = apply(base, overrides(CHOSEN))
    assert (tuned.train.learning_rate, tuned.train.optimizer, tuned.train.batch_size) == (0.0031, "sgd", 64)
    assert (tuned.model.hidden_units, tuned.model.dropout) == ([64, 32], 0.25)
    assert tuned.train.epochs == 7 and tuned.model.activation == "relu"
    assert base.train.learning_rate == 1e-3  # not changed in place
    with pytest.raises(ValueError, match="dropout"):
        apply(base, {"model.dropout": 1.5})
    with pytest.raises(ValueError, match="not a train"):
        apply(base, {"data.target": "z"})


def test_the_study_depends_on_what_the_search_leaves_alone_not_on_its_budget_or_choices():
    base = params()
    name = study_name(base, "abc")
    assert name.startswith("tune-") and len(name) == 15
    assert study_name(params(tune={"n_trials": 3, "timeout_s": 5}), "abc") == name
    assert study_name(apply(base, overrides(CHOSEN)), "abc") == name
    assert study_name(base, "other data") != name
    assert study_name(params(train={"epochs": 9}), "abc") != name
    assert study_name(params(base={"seed": 1}), "abc") != name
    assert study_name(params(tune={"space": {"batch_size": [8]}}), "abc") != name


def test_the_command_trains_exactly_these_values():
    assert exp_run_command(overrides(CHOSEN)) == (
        "dvc exp run -S train.learning_rate=0.0031 -S train.optimizer=sgd -S train.batch_size=64 "
        "-S model.hidden_units=[64,32] -S model.dropout=0.25"
    )
    assert exp_run_command({"train.learning_rate": 0.0012345678912}) == (
        "dvc exp run -S train.learning_rate=0.0012345678912"
    )


def test_budget_summary():
    assert budget_summary(params(tune={"n_trials": 4, "epochs": 3, "timeout_s": 60}).tune) == (
        "4 trials of at most 3 epochs, 60 s per process"
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"lr_find": {"min_lr": 0.1, "max_lr": 0.01}}, "min_lr 0.1 must lie below max_lr 0.01. Fix"),
        ({"lr_find": {"epochs": 3}}, "lr_find.epochs = 3: Input should be greater than or equal to 5"),
        ({"tune": {"space": {"learning_rate": {"low": 1, "high": 0.1}}}}, "low 1 must lie below high 0.1"),
        ({"tune": {"space": {"dropout": {"low": 0.5, "high": 0.1}}}}, "low 0.5 must not lie above high 0.1"),
        ({"tune": {"space": {"optimizer": ["adam", "rmsprop"]}}}, "tune.space.optimizer.1 = 'rmsprop'"),
        ({"tune": {"space": {"batch_size": [0, 32]}}}, "batch_size choices must all be >= 1"),
        ({"tune": {"space": {"batch_size": [32, 32]}}}, "batch_size choices repeat a value"),
        ({"tune": {"space": {"hidden_units": [[32], []]}}}, "non-empty lists of widths >= 1"),
        ({"tune": {"space": {"hidden_units": [[32], [32]]}}}, "hidden_units choices repeat a value"),
        ({"tune": {"pruner": "hyperband"}}, "tune.pruner = 'hyperband'"),
        ({"tune": {"n_trial": 3}}, "tune.n_trial: unknown key"),
    ],
)
def test_bad_search_settings_are_refused_with_the_key(section, message):
    with pytest.raises(ParamsError) as exc:
        params(**section)
    assert message in str(exc.value)


def test_the_commands_settings_are_not_params_of_a_run():
    dumped = params().model_dump(mode="json", by_alias=True)
    assert "tune" not in dumped and "lr_find" not in dumped


def test_the_current_configuration_as_a_trial_when_the_space_holds_it():
    params = parse_params({**MINIMAL, "train": {"learning_rate": 0.003, "optimizer": "sgd"}})
    choice, why = current_choice(params)
    assert choice == {
        "learning_rate": 0.003,
        "optimizer": "sgd",
        "batch_size": params.train.batch_size,
        "hidden_units": units_key(params.model.hidden_units),
        "dropout": params.model.dropout,
    }
    assert overrides(choice)["model.hidden_units"] == params.model.hidden_units
    assert why == "trial 0 is the current configuration (params.yaml)"


def test_the_current_configuration_outside_the_space_is_named_and_not_tried():
    params = parse_params(
        {**MINIMAL, "train": {"learning_rate": 0.5, "batch_size": 128}, "model": {"dropout": 0.1}}
    )
    assert current_choice(params) == (
        None,
        "the current train.learning_rate, train.batch_size lie outside tune.space: not tried as trial 0",
    )

"""The search's pure part: a trial's choices as params, the study's name, the winner as overrides.

`make tune` (pipeline/tune.py) asks Optuna for values; everything that turns those values into the
pipeline's configuration lives here, so the configuration a trial trained and the one written into
params.yaml for `dvc repro` are made by the same function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.core.config import Params, Tune

# The params a trial sets, as `dvc exp run -S` names them; every other param stays as params.yaml has it.
SEARCHED = (
    "train.learning_rate",
    "train.optimizer",
    "train.batch_size",
    "model.hidden_units",
    "model.dropout",
)


def units_key(units: Sequence[int]) -> str:
    """[64, 32] -> "64x32": Optuna's categorical choices are scalars, and the run names read so too."""
    return "x".join(str(u) for u in units)


def units_of(key: str) -> list[int]:
    """ "64x32" -> [64, 32]."""
    try:
        units = [int(part) for part in key.split("x")]
    except ValueError:
        raise ValueError(f"{key!r} is not a layer-widths key such as '64x32'") from None
    if any(u < 1 for u in units):
        raise ValueError(f"{key!r} has a width below 1")
    return units


def overrides(chosen: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's values (Optuna's names: learning_rate, optimizer, batch_size, hidden_units as "64x32",
    dropout) as dotted params. A missing or unknown name is refused: the two lists must agree."""
    expected = {key.split(".")[1] for key in SEARCHED}
    if set(chosen) != expected:
        raise ValueError(f"a trial chooses exactly {sorted(expected)}, got {sorted(chosen)}")
    return {
        "train.learning_rate": float(chosen["learning_rate"]),
        "train.optimizer": str(chosen["optimizer"]),
        "train.batch_size": int(chosen["batch_size"]),
        "model.hidden_units": units_of(str(chosen["hidden_units"])),
        "model.dropout": float(chosen["dropout"]),
    }


def current_choice(params: Params) -> tuple[dict[str, Any] | None, str]:
    """(The configuration params.yaml trains now, in Optuna's names, or None; why).

    A new study tries it first, so its winner is never one the search merely failed to compare
    with what the user already had; None when it lies outside `tune.space`, which would refuse it.
    """
    space, train, model = params.tune.space, params.train, params.model
    choice = {
        "learning_rate": train.learning_rate,
        "optimizer": train.optimizer,
        "batch_size": train.batch_size,
        "hidden_units": units_key(model.hidden_units),
        "dropout": model.dropout,
    }
    outside = [
        name
        for name, inside in (
            (
                "train.learning_rate",
                space.learning_rate.low <= train.learning_rate <= space.learning_rate.high,
            ),
            ("train.optimizer", train.optimizer in space.optimizer),
            ("train.batch_size", train.batch_size in space.batch_size),
            ("model.hidden_units", list(model.hidden_units) in [list(u) for u in space.hidden_units]),
            ("model.dropout", space.dropout.low <= model.dropout <= space.dropout.high),
        )
        if not inside
    ]
    if outside:
        return None, f"the current {', '.join(outside)} lie outside tune.space: not tried as trial 0"
    return choice, "trial 0 is the current configuration (params.yaml)"


def apply(params: Params, changes: Mapping[str, Any]) -> Params:
    """`params` with dotted changes (only train.* and model.*), validated as params.yaml would be."""
    sections: dict[str, dict[str, Any]] = {"train": {}, "model": {}}
    for dotted, value in changes.items():
        section, _, key = dotted.partition(".")
        if section not in sections or not key or "." in key:
            raise ValueError(f"{dotted!r} is not a train.* or model.* param")
        sections[section][key] = value
    train = params.train.model_validate({**params.train.model_dump(), **sections["train"]})
    model = params.model.model_validate({**params.model.model_dump(), **sections["model"]})
    return params.model_copy(update={"train": train, "model": model})


def study_name(params: Params, data_hash: str) -> str:
    """The study of this data, space, seed and every param the search leaves alone.

    A second `make tune` with the same configuration continues the same study (a larger
    tune.n_trials adds trials to it; several processes share it); a change starts a new one.
    The budget (n_trials, timeout_s) and where results go are not part of it.
    """
    fixed = params.model_dump(mode="json", by_alias=True)
    for dotted in SEARCHED:
        section, key = dotted.split(".")
        fixed[section].pop(key, None)
    tune = params.tune.model_dump(mode="json", exclude={"n_trials", "timeout_s", "write_params", "storage"})
    relevant = {"data": data_hash, "params": fixed, "tune": tune}
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:10]
    return f"tune-{digest}"


def exp_run_command(changes: Mapping[str, Any]) -> str:
    """The `dvc exp run -S ...` that trains with these values (Hydra syntax: lists as [a,b])."""
    return "dvc exp run " + " ".join(f"-S {key}={_shown(value)}" for key, value in changes.items())


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_shown(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def budget_summary(tune: Tune) -> str:
    return f"{tune.n_trials} trials of at most {tune.epochs} epochs, {tune.timeout_s:g} s per process"

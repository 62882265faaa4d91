"""pipeline/io/registry.py against a real MLflow registry in a SQLite store."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from pipeline.core.errors import PipelineError
from pipeline.io import registry
from tests.io.registry_store import CONTRACT, model_folder


def register(tmp_path, name: str, folder: str = "v", **tags):
    return registry.register(model_folder(tmp_path, folder).as_uri(), name, tags)


def test_register_tags_each_version_with_text(store, name, tmp_path):
    found = register(tmp_path, name, task="binary", threshold=0.25, epochs=8)
    assert str(found.version) == "1"
    assert found.tags == {"task": "binary", "threshold": "0.25", "epochs": "8"}
    assert str(register(tmp_path, name, folder="w").version) == "2"


def test_lookups_answer_none_for_what_does_not_exist(store, name, tmp_path):
    assert registry.champion(name) is None
    assert registry.version(name, "1") is None
    register(tmp_path, name)
    assert registry.champion(name) is None  # a model without the alias
    assert registry.version(name, "7") is None
    assert str(registry.version(name, "1").version) == "1"


def test_the_champion_alias_follows_set_champion(store, name, tmp_path):
    register(tmp_path, name)
    register(tmp_path, name, folder="w")
    registry.set_champion(name, "1")
    assert str(registry.champion(name).version) == "1"
    registry.set_champion(name, "2")
    assert str(registry.champion(name).version) == "2"


def test_tag_version_adds_text_tags(store, name, tmp_path):
    register(tmp_path, name, task="binary")
    registry.tag_version(name, "1", {"promoted": False, "reason": "worse than v0"})
    assert registry.version(name, "1").tags == {
        "task": "binary",
        "promoted": "False",
        "reason": "worse than v0",
    }


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"task": "binary", "threshold": "0.3"}, 0.3),
        ({"task": "binary"}, 0.5),  # registered before the tag: evaluated at 0.5
        ({"task": "binary", "threshold": "None"}, 0.5),
        ({}, 0.5),  # before the task tag too: only binary models were registered then
        ({"task": "multiclass", "threshold": "0.3"}, None),
        ({"task": "regression"}, None),
    ],
)
def test_recorded_threshold(store, name, tmp_path, tags, expected):
    assert registry.recorded_threshold(register(tmp_path, name, **tags)) == expected


def test_other_registry_errors_are_not_taken_for_absence():
    def broken():
        raise MlflowException("the store is locked", error_code="INTERNAL_ERROR")

    with pytest.raises(MlflowException, match="locked"):
        registry._or_none(broken)


def test_download_model_gives_the_keras_file_and_the_contract(store, name, tmp_path):
    register(tmp_path, name)
    keras_file, contract = registry.download_model(name, "1", tmp_path / "into")
    assert keras_file == tmp_path / "into" / "artifacts" / "model.keras"
    assert keras_file.read_bytes() == b"keras bytes of v"
    assert contract == CONTRACT


@pytest.mark.parametrize("missing", ["contract", "keras"])
def test_a_version_from_before_raw_rows_is_refused_with_the_fix(store, name, tmp_path, missing):
    folder = model_folder(
        tmp_path, "old", contract=None if missing == "contract" else CONTRACT, keras=missing != "keras"
    )
    registry.register(folder.as_uri(), name, {})
    with pytest.raises(PipelineError, match=r"registered before models took raw rows.*Fix: run the pipeline"):
        registry.download_model(name, "1", tmp_path / "into")


def test_latest_version_is_the_highest_number(store, name, tmp_path):
    assert registry.latest_version(name) is None
    register(tmp_path, name)
    register(tmp_path, name, folder="w")
    assert str(registry.latest_version(name).version) == "2"


def test_version_artifact_is_a_file_of_the_versions_run_or_none(store, name, tmp_path):
    # The client, not the fluent API: another test of the process may have set an experiment.
    client = mlflow.MlflowClient()
    run = client.create_run(client.create_experiment(name))
    answers = tmp_path / "predictions.parquet"
    answers.write_bytes(b"holdout answers")
    client.log_artifact(run.info.run_id, str(answers), "eval")
    register(tmp_path, name, run_id=run.info.run_id)  # as register tags each version
    register(tmp_path, name, folder="w")  # a version without a run
    fetched = registry.version_artifact(name, "1", "eval/predictions.parquet", tmp_path / "a")
    assert fetched is not None and fetched.read_bytes() == b"holdout answers"
    assert registry.version_artifact(name, "1", "eval/other.parquet", tmp_path / "b") is None
    assert registry.version_artifact(name, "2", "eval/predictions.parquet", tmp_path / "c") is None
    assert registry.version_artifact(name, "9", "eval/predictions.parquet", tmp_path / "d") is None

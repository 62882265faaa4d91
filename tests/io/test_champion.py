"""pipeline/io/champion.py: which version is served, fetched from a real SQLite registry,
and packaged for a Bento and unpacked again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.contract import Contract
from pipeline.core.errors import PipelineError
from pipeline.io import champion, registry
from tests.io.registry_store import CONTRACT, model_folder

REGRESSION = Contract(features=CONTRACT.features, target="body mass", task="regression", class_labels=[])


def test_resolve_names_what_is_missing_and_the_registry(store, name):
    with pytest.raises(
        PipelineError, match=rf"model '{name}' has no 'champion' alias .*Fix: run the pipeline"
    ):
        champion.resolve(name, None)
    with pytest.raises(PipelineError, match=rf"model '{name}' has no version 4 in the registry at 'sqlite:"):
        champion.resolve(name, "4")


def test_fetch_takes_the_champion_and_its_recorded_threshold(store, name, tmp_path):
    registry.register(model_folder(tmp_path, "v1").as_uri(), name, {"task": "binary", "threshold": 0.2})
    registry.register(model_folder(tmp_path, "v2").as_uri(), name, {"task": "binary", "threshold": 0.7})
    registry.set_champion(name, "1")
    served = champion.fetch(name, None, tmp_path / "into")
    assert (served.name, served.version, served.run_id, served.threshold) == (name, "1", None, 0.2)
    assert served.contract == CONTRACT.with_threshold(0.2)
    assert served.keras_file.read_bytes() == b"keras bytes of v1"
    assert champion.fetch(name, "2", tmp_path / "other").threshold == 0.7


def test_the_contracts_own_threshold_wins_over_the_tag(store, name, tmp_path):
    folder = model_folder(tmp_path, "v1", contract=CONTRACT.with_threshold(0.35))
    registry.register(folder.as_uri(), name, {"task": "binary", "threshold": 0.9})
    assert champion.fetch(name, "1", tmp_path / "into").threshold == 0.35


def test_a_regression_model_has_no_threshold(store, name, tmp_path):
    registry.register(
        model_folder(tmp_path, "v1", contract=REGRESSION).as_uri(), name, {"task": "regression"}
    )
    served = champion.fetch(name, "1", tmp_path / "into")
    assert served.threshold is None and served.contract.threshold is None


def test_package_then_unpack_gives_the_same_model_without_a_registry(store, name, tmp_path):
    registry.register(model_folder(tmp_path, "v1").as_uri(), name, {"task": "binary", "threshold": 0.2})
    served = champion.fetch(name, "1", tmp_path / "into")
    bento = tmp_path / "bento"
    bento.mkdir()
    champion.package(served, bento)
    facts = json.loads((bento / champion.PACKAGED_FACTS).read_text())
    assert facts["version"] == "1" and facts["threshold"] == 0.2
    again = champion.unpack(bento)
    assert again == champion.ServedModel(
        name=name,
        version="1",
        run_id=None,
        threshold=0.2,
        contract=CONTRACT.with_threshold(0.2),
        keras_file=bento / champion.PACKAGED_MODEL,
    )
    assert again.keras_file.read_bytes() == b"keras bytes of v1"


def test_a_bento_from_before_raw_rows_is_refused_with_the_fix(tmp_path: Path):
    (tmp_path / champion.PACKAGED_FACTS).write_text(json.dumps({"name": "penguins", "version": "1"}))
    with pytest.raises(PipelineError, match=r"has no contract.*Fix: build it again \(`make bento`\)"):
        champion.unpack(tmp_path)

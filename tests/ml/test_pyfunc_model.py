"""pipeline/ml/pyfunc_model.py in this process: MLflow runs the logged copy of the file in the
models it loads (tests/io/test_model_logging.py), which coverage cannot attribute to the package."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModelContext

from pipeline.io.registry import CONTRACT_ARTIFACT, KERAS_ARTIFACT
from pipeline.ml.pyfunc_model import RawRowsModel
from tests.io.test_model_logging import CONTRACT, ROWS, THRESHOLD, build_model, keras_probabilities


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    home = tmp_path_factory.mktemp("pyfunc")
    keras_model = build_model()
    keras_model.save(home / "model.keras")
    (home / "contract.json").write_text(json.dumps(CONTRACT.to_dict()))
    artifacts = {KERAS_ARTIFACT: str(home / "model.keras"), CONTRACT_ARTIFACT: str(home / "contract.json")}
    model = RawRowsModel()
    model.load_context(PythonModelContext(artifacts=artifacts, model_config=None))
    return model, keras_model


def test_raw_rows_get_the_keras_models_answers(loaded):
    model, keras_model = loaded
    assert model.contract == CONTRACT
    answers = model.predict(None, ROWS)
    expected = keras_probabilities(keras_model, ROWS)
    np.testing.assert_allclose(answers[["p_Adelie", "p_Gentoo"]].to_numpy(), expected, atol=1e-6)
    assert answers["label"].tolist() == np.where(expected[:, 1] >= THRESHOLD, "Gentoo", "Adelie").tolist()
    again = model.predict(None, ROWS.to_dict("list"))  # what a client may send instead of a frame
    assert again.equals(answers)


def test_a_missing_column_is_refused_by_name(loaded):
    model, _ = loaded
    with pytest.raises(MlflowException, match="column 'year' is missing: the model needs it"):
        model.predict(None, ROWS.drop(columns=["year"]))

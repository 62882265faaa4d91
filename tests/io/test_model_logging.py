"""The registered MLflow model for real: logged as code into a SQLite store, loaded back with
`mlflow.pyfunc` and served by `mlflow models serve`, it answers raw rows as the Keras model
does, and refuses a missing column or a wrongly typed value by name."""

from __future__ import annotations

import json
import os

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from keras import ops
from mlflow.exceptions import MlflowException

from pipeline.core.contract import CATEGORICAL, MISSING, NUMERIC, ONE_HOT, Contract, FeatureSpec
from pipeline.core.postprocess import probabilities
from pipeline.io import champion, model_logging, registry
from tests.conftest import mlflow_models_serve, tool_env

THRESHOLD = 0.3
CONTRACT = Contract(
    features=[
        FeatureSpec(
            "bill length",
            NUMERIC,
            "bill_length",
            missing_count=3,
            median=40.0,
            mean=41.0,
            variance=25.0,
            indicator=True,
        ),
        FeatureSpec("year", NUMERIC, "year", median=2008.0, mean=2008.0, variance=0.7),
        FeatureSpec(
            "island",
            CATEGORICAL,
            "island",
            missing_count=2,
            categories=["Biscoe", "Dream", MISSING],
            encoding=ONE_HOT,
        ),
    ],
    target="species",
    task="binary",
    class_labels=["Adelie", "Gentoo"],
    ignored={"species": "the target", "row_id": "unique per row: an id"},
    threshold=THRESHOLD,
)

# Natural rows: columns shuffled, an ignored column, NaN and None for missing numbers, None
# and "" for a missing category, an unseen category, int64 years as pd.read_csv makes them.
ROWS = pd.DataFrame(
    {
        "island": ["Biscoe", None, "Torgersen", "Dream", "", "Biscoe"],
        "species": ["Adelie", "Gentoo", None, "Adelie", "Gentoo", "Adelie"],
        "year": [2007, 2008, 2009, 2007, 2008, 2009],
        "bill length": [39.1, np.nan, 45.5, 1e6, 50.0, -3.0],
    }
)


def build_model() -> keras.Model:
    """Like the pipeline's: named raw inputs, imputation and missing flag with keras.ops,
    normalisation, a StringLookup one-hot; random but fixed weights."""
    keras.utils.set_random_seed(7)
    inputs = {
        f.input: keras.Input(shape=(1,), name=f.input, dtype="float32" if f.is_numeric else "string")
        for f in CONTRACT.features
    }
    numeric = [f for f in CONTRACT.features if f.is_numeric]
    x = keras.layers.Concatenate(name="numeric")([inputs[f.input] for f in numeric])
    missing = ops.isnan(x)
    x = ops.where(missing, np.asarray([f.median for f in numeric], dtype="float32"), x)
    x = keras.layers.Normalization(
        mean=[f.mean for f in numeric], variance=[f.variance for f in numeric], name="normalize"
    )(x)
    flag = ops.cast(ops.take(missing, np.asarray([0], dtype="int32"), axis=1), "float32")
    island = CONTRACT.feature("island")
    code = keras.layers.StringLookup(
        vocabulary=island.categories, num_oov_indices=1, output_mode="one_hot", name="lookup_0"
    )(inputs[island.input])
    hidden = keras.layers.Concatenate(name="features")([x, flag, code])
    hidden = keras.layers.Dense(8, activation="relu", name="dense_1")(hidden)
    return keras.Model(inputs, keras.layers.Dense(1, name="logits")(hidden))


def keras_probabilities(model: keras.Model, rows: pd.DataFrame) -> np.ndarray:
    """The reference: the Keras model called directly on inputs built by hand."""
    island = np.asarray(["" if pd.isna(v) else v for v in rows["island"]], dtype=object)
    inputs = {
        "bill_length": rows["bill length"].to_numpy("float32").reshape(-1, 1),
        "year": rows["year"].to_numpy("float32").reshape(-1, 1),
        "island": island.reshape(-1, 1),
    }
    return probabilities(np.asarray(model(inputs, training=False)), "binary")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """The model logged into a run of a SQLite store and registered as version 1."""
    home = tmp_path_factory.mktemp("model-logging")
    model = build_model()
    model.save(home / "model.keras")
    uri = f"sqlite:///{home / 'mlflow.db'}"
    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri  # what tracking.configure() (registry, champion) reads
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("t", artifact_location=(home / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        model_uri = model_logging.log_pyfunc_model(home / "model.keras", CONTRACT)
    registry.register(model_uri, "penguins", {"features": ",".join(CONTRACT.names)})
    yield {"home": home, "uri": model_uri, "tracking": uri, "model": model}
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture(scope="module")
def pyfunc(logged):
    return mlflow.pyfunc.load_model(logged["uri"])


def test_raw_rows_get_the_keras_models_probabilities(logged, pyfunc):
    answers = pyfunc.predict(ROWS)
    expected = keras_probabilities(logged["model"], ROWS)
    assert list(answers.columns) == ["label", "p_Adelie", "p_Gentoo"]
    np.testing.assert_array_equal(answers[["p_Adelie", "p_Gentoo"]].to_numpy(), expected)
    labels = np.where(expected[:, 1] >= THRESHOLD, "Gentoo", "Adelie")
    assert answers["label"].tolist() == labels.tolist()
    # the same rows without the ignored column, in another order, answer the same
    again = pyfunc.predict(ROWS[["year", "bill length", "island"]].iloc[::-1]).iloc[::-1]
    np.testing.assert_array_equal(again.to_numpy(), answers.to_numpy())


def test_a_frame_read_from_csv_passes(logged, pyfunc, tmp_path):
    ROWS.to_csv(tmp_path / "rows.csv", index=False)
    rows = pd.read_csv(tmp_path / "rows.csv")  # int64 years, str islands with NaN
    np.testing.assert_array_equal(
        pyfunc.predict(rows)[["p_Adelie", "p_Gentoo"]].to_numpy(), keras_probabilities(logged["model"], ROWS)
    )


def test_a_missing_column_is_refused_by_name(pyfunc):
    with pytest.raises(MlflowException, match="year"):
        pyfunc.predict(ROWS.drop(columns=["year"]))


def test_text_in_a_numeric_column_is_refused_naming_column_and_value(pyfunc):
    rows = ROWS.assign(**{"bill length": pd.Series([39.1, "abc", None, 1.0, 2.0, 3.0], dtype=object)})
    with pytest.raises(MlflowException) as refused:
        pyfunc.predict(rows)
    message = str(refused.value)
    assert "'bill length', row 1: 'abc' is not a number" in message
    assert "numeric" in message


def test_booleans_and_lists_are_refused_by_kind(pyfunc):
    with pytest.raises(MlflowException, match=r"'year', row 0: True is not a number"):
        pyfunc.predict(ROWS.assign(year=[True, False] * 3))
    with pytest.raises(MlflowException, match=r"'island', row 0: \['a'\] is not a category"):
        pyfunc.predict(ROWS.assign(island=[["a"], "b", "c", "d", "e", "f"]))


def test_signature_names_every_raw_column_and_the_outputs(logged):
    signature = mlflow.models.get_model_info(logged["uri"]).signature
    inputs = {c.name: (repr(c.type), c.required) for c in signature.inputs.inputs}
    assert inputs == {
        "bill length": ("Any", True),
        "year": ("Any", True),
        "island": ("Any", True),
        "species": ("Any", False),
        "row_id": ("Any", False),
    }
    outputs = {c.name: c.type.name for c in signature.outputs.inputs}
    assert outputs == {"label": "string", "p_Adelie": "double", "p_Gentoo": "double"}


def test_the_version_holds_the_keras_file_and_contract_and_no_pickle(logged, tmp_path):
    keras_file, contract = registry.download_model("penguins", "1", tmp_path)
    assert keras_file.name == "model.keras" and keras_file.is_file()
    assert contract == CONTRACT
    folder = keras_file.parents[1]
    assert (folder / "MLmodel").is_file() and (folder / "code" / "pipeline" / "core" / "rows.py").is_file()
    assert not [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pickle", ".cloudpickle")]
    requirements = (folder / "requirements.txt").read_text()
    assert "keras==" in requirements and "mlflow==" in requirements


def test_champion_fetch_and_package_carry_the_contract(logged, tmp_path):
    served = champion.fetch("penguins", "1", tmp_path / "fetched")
    assert served.contract == CONTRACT and served.threshold == THRESHOLD
    (tmp_path / "bento").mkdir()
    champion.package(served, tmp_path / "bento")
    unpacked = champion.unpack(tmp_path / "bento")
    assert unpacked.contract == CONTRACT
    assert unpacked.keras_file.read_bytes() == served.keras_file.read_bytes()


def test_mlflow_models_serve_answers_json_records_with_nulls_the_same(logged, pyfunc):
    import httpx

    home = logged["home"]
    env = tool_env(MLFLOW_TRACKING_URI=logged["tracking"])
    with mlflow_models_serve(logged["uri"], home, env) as url:
        records = json.loads(ROWS.to_json(orient="records"))  # NaN and None -> null
        assert records[1]["island"] is None and records[1]["bill length"] is None
        response = httpx.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=60)
        assert response.status_code == 200, response.text
        served = pd.DataFrame(response.json()["predictions"])
        expected = pyfunc.predict(ROWS)
        assert served["label"].tolist() == expected["label"].tolist()
        np.testing.assert_allclose(
            served[["p_Adelie", "p_Gentoo"]].to_numpy(),
            expected[["p_Adelie", "p_Gentoo"]].to_numpy(),
            rtol=0,
            atol=1e-12,
        )

        records[2]["bill length"] = "abc"
        refused = httpx.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=60)
        assert refused.status_code == 400 and "bill length" in refused.text, refused.text
        for record in records:
            del record["year"]
        missing = httpx.post(f"{url}/invocations", json={"dataframe_records": records}, timeout=60)
        assert missing.status_code == 400 and "year" in missing.text, missing.text

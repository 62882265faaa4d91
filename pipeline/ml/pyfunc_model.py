"""The registered MLflow model, as code: raw rows in, labels and probabilities (or values) out.

MLflow's models-from-code: `io/model_logging.py` logs this file (not a pickled object) with
two artifacts, the `.keras` file and the contract. MLflow runs this file when it loads the
model (`mlflow.pyfunc.load_model`, `mlflow models serve`), with the logged copy of the
`pipeline` package on the path; `load_context` then opens the Keras file with safe_mode. No
pickle is written or read anywhere.

`predict` takes a pandas DataFrame of raw rows as a consumer has them (any column order,
None / NaN for missing, the target or dropped columns present or not), checks every value
by the contract's kinds (core/frames.py), builds the model's inputs as every other path
does (core/rows.py) and answers as the service does (core/postprocess.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.pyfunc import PythonModel

from pipeline.core.contract import Contract
from pipeline.core.frames import FrameError, answer_frame, feature_columns
from pipeline.core.rows import model_inputs
from pipeline.io.registry import CONTRACT_ARTIFACT, KERAS_ARTIFACT


class RawRowsModel(PythonModel):
    """The Keras model behind MLflow's pyfunc interface, its preprocessing inside it."""

    def load_context(self, context) -> None:
        # Keras (and TensorFlow) load here, not at import: MLflow also runs this file when it
        # logs the model, and the register stage need not pay for TensorFlow then.
        from pipeline.ml.model import compiled_logits, load_model

        raw = json.loads(Path(context.artifacts[CONTRACT_ARTIFACT]).read_text())
        self.contract = Contract.from_dict(raw)
        self._logits = compiled_logits(load_model(context.artifacts[KERAS_ARTIFACT]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Raw rows -> one answer per row: `label` and `p_<label>` per class, or `value`.

        A missing feature column, a value of the wrong kind or an unknown column is refused
        with an MlflowException (400 from `mlflow models serve`) that names the column, the
        row and the value; nothing is answered for a frame with any problem.
        """
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        try:
            columns = feature_columns(frame, self.contract)
            raw = self._logits(model_inputs(columns, self.contract.features))
            return answer_frame(raw, self.contract, frame.index)
        except FrameError as error:
            raise MlflowException.invalid_parameter_value(str(error)) from None


mlflow.models.set_model(RawRowsModel())

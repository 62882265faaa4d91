"""HTTP predictions from the champion: raw features in, probabilities and labels out.

    MLFLOW_TRACKING_URI   the registry (default: the repository's sqlite:///mlflow.db)
    MODEL_NAME            registered model (default: register.model_name in params.yaml)
    MODEL_VERSION         serve this version instead of the champion
    MAX_RECORDS           records per request (default 1000)
    MAX_BODY_BYTES        request body cap (default 4 MiB)
    WORKERS               server processes, each with its own copy of the model (default 2)
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import bentoml
from starlette.responses import JSONResponse

from pipeline.core.postprocess import predict_labels, probabilities
from pipeline.core.requests import RequestError, check_threshold, records_to_matrix
from pipeline.io import champion
from serving.limits import BodyLimit


@bentoml.service(traffic={"timeout": 30}, workers=int(os.environ.get("WORKERS", "2")))
class Classifier:
    def __init__(self) -> None:
        self.max_records = int(os.environ.get("MAX_RECORDS", "1000"))
        self._folder = tempfile.TemporaryDirectory(prefix="served-model-")
        self.served = champion.fetch(*champion.wanted(), self._folder.name)

        from pipeline.ml.model import compiled_logits, load_model

        # Warmed up here, before /readyz says yes.
        self._logits = compiled_logits(load_model(self.served.keras_file))

    @bentoml.api(route="/predict")
    def predict(self, records: list[Any], threshold: Any = None) -> dict:
        schema = self.served.schema
        try:
            check_threshold(threshold)
            x = records_to_matrix(records, schema.features, self.max_records)
        except RequestError as exc:
            return JSONResponse(exc.to_dict(), status_code=422)
        used = self.served.threshold if threshold is None else float(threshold)
        probs = probabilities(self._logits(x), schema.task)
        labels = predict_labels(probs, schema.class_labels, used)
        names = [str(label) for label in schema.class_labels]
        return {
            "model": self.served.name,
            "version": self.served.version,
            "threshold": used,
            "predictions": [
                {"label": label, "probabilities": dict(zip(names, map(float, row)))}
                for label, row in zip(labels, probs)
            ],
        }

    @bentoml.api(route="/metadata")
    def metadata(self) -> dict:
        schema = self.served.schema
        return {
            "model": self.served.name,
            "version": self.served.version,
            "run_id": self.served.run_id,
            "threshold": self.served.threshold,
            "task": schema.task,
            "class_labels": schema.class_labels,
            "features": [{"name": f, "dtype": schema.dtypes[f]} for f in schema.features],
        }


Classifier.add_asgi_middleware(BodyLimit, max_bytes=int(os.environ.get("MAX_BODY_BYTES", 4 << 20)))

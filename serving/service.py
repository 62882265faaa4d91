"""HTTP predictions from the champion: raw features in, probabilities and labels out.

    MLFLOW_TRACKING_URI   the registry (default: the repository's sqlite:///mlflow.db)
    MODEL_NAME            registered model (default: register.model_name in params.yaml)
    MODEL_VERSION         serve this version instead of the champion
    MAX_RECORDS           records per request (default 1000)
    MAX_BODY_BYTES        request body cap (default 4 MiB)
    WORKERS               server processes, each with its own copy of the model (default 2)

Inside a Bento (`make bento`) the model comes from the BentoML model store instead, named by
`serving/packaged_model.json`, and the registry is never contacted.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import bentoml
from starlette.responses import JSONResponse

from pipeline.core.postprocess import answers
from pipeline.core.requests import RequestError, check_threshold, records_to_matrix
from pipeline.io import champion
from serving.batching import Batcher
from serving.limits import BodyLimit

# Written by `python -m serving.bento` for the length of `bentoml build`: only a Bento has it.
PACKAGED = Path(__file__).with_name("packaged_model.json")


def packaged_model() -> bentoml.models.BentoModel | None:
    """A class-level model reference, so that `bentoml build` carries the model in the Bento."""
    if not PACKAGED.exists():
        return None
    return bentoml.models.BentoModel(json.loads(PACKAGED.read_text())["tag"])


@bentoml.service(traffic={"timeout": 30}, workers=int(os.environ.get("WORKERS", "2")))
class Classifier:
    packaged = packaged_model()

    def __init__(self) -> None:
        self.max_records = int(os.environ.get("MAX_RECORDS", "1000"))
        if self.packaged is not None:
            self.served = champion.unpack(self.packaged.path)
        else:
            self._folder = tempfile.TemporaryDirectory(prefix="served-model-")
            self.served = champion.fetch(*champion.wanted(), self._folder.name)

        from pipeline.ml.model import compiled_logits, load_model

        # Warmed up here, before /readyz says yes.
        self._logits = compiled_logits(load_model(self.served.keras_file))
        self._batcher = Batcher(self._logits, max_rows=self.max_records)
        # Everything loaded so far lives as long as the worker: the collector's full passes
        # over TensorFlow's objects stalled about 1 request in 100 by 200-400 ms.
        gc.freeze()

    @bentoml.api(route="/predict")
    async def predict(self, records: list[Any], threshold: Any = None) -> dict:
        schema = self.served.schema
        try:
            check_threshold(threshold, schema.task)
            x = records_to_matrix(records, schema.features, self.max_records)
        except RequestError as exc:
            return JSONResponse(exc.to_dict(), status_code=422)
        used = self.served.threshold if threshold is None else float(threshold)
        # A response BentoML need not serialise: its own path rebuilt the output's JSON schema
        # on every request (8 % of a request's time in a profile).
        return JSONResponse({
            "model": self.served.name,
            "version": self.served.version,
            "threshold": used,
            "predictions": answers(await self._batcher(x), schema.task, schema.class_labels, used),
        })

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

"""HTTP predictions from the champion: raw rows in, labels and probabilities (or values) out.

    POST /predict   {"records": [{"island": "Biscoe", "sex": null, "bill_length_mm": 39.1}],
                     "threshold": 0.3}   (threshold: optional, binary models only)
    GET  /metadata  (or POST) the served version and each raw feature: its kind, the
                    categories it knows, what a missing value becomes

    MLFLOW_TRACKING_URI   the registry (default: the repository's sqlite:///mlflow.db)
    MODEL_NAME            registered model (default: register.model_name in params.yaml)
    MODEL_VERSION         serve this version instead of the champion
    MAX_RECORDS           records per request (default 1000)
    MAX_BODY_BYTES        request body cap (default 4 MiB)
    WORKERS               server processes, each with its own copy of the model (default 2)
    ADMIN_TOKEN           bearer token for POST /admin/reload (unset: reload is disabled)
    PREDICT_TOKEN         bearer token required for POST /predict (unset: open, on loopback)
    ALIAS_CHECK_S         follow the champion alias, looked up every this many seconds (default
                          0: off); each worker swaps by itself, so for a moment they may differ
    ACCESS_LOG            1: BentoML's INFO line per request (default 0: off; it cost tail
                          latency at concurrency 1). Errors are logged either way.
    REQUEST_LOG_DIR       log each answered /predict (its records, the answer, model, version,
                          threshold, time, latency) as JSON lines under this folder (unset: off)
    REQUEST_LOG_RATE      the share of requests logged (default 1)
    REQUEST_LOG_FILE_BYTES  a log file is closed at this size (default 64 MiB)
    REQUEST_LOG_MAX_BYTES   the oldest closed files go when the folder holds more (default 1 GiB)
    REQUEST_LOG_QUEUE     requests waiting to be written (default 10000); beyond, dropped and
                          counted in /metrics (request_log_dropped_total)

Read and checked once (pipeline/io/settings.py): a bad value stops the service at start-up,
named, with its fix.

Inside a Bento (`make bento`) the model comes from the BentoML model store instead, named by
`serving/packaged_model.json`, and the registry is never contacted.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bentoml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipeline.core.postprocess import answers
from pipeline.core.requests import RecordChecker, RequestError, check_outputs, check_threshold
from pipeline.io import champion
from pipeline.io.settings import settings
from serving import handover
from serving.auth import BearerAuth
from serving.batching import Batcher
from serving.limits import BodyLimit, JsonOnly
from serving.request_log import RequestLog

# Written by `python -m serving.bento` for the length of `bentoml build`: only a Bento has it.
PACKAGED = Path(__file__).with_name("packaged_model.json")
SETTINGS = settings()  # pipeline/io/settings.py: every variable above, checked
WORKERS = SETTINGS.workers
# Per phase of a hand-over (prepare, commit): both fit in the 30 s traffic timeout below,
# after which BentoML would answer 504 while the hand-over went on.
RELOAD_TIMEOUT_S = 12.0
# BentoML's access log writes an INFO line per request through `logging` (its middleware,
# `api_server.logging.access`): off unless asked for. Failures are logged by BentoML's
# endpoint wrapper (`log_exception`), which this does not touch.
ACCESS_LOG = SETTINGS.access_log
# The workers' shared folder for hand-overs; made here (in BentoML's parent process, which
# imports this module first) unless `python -m serving` already did, so workers inherit it.
STATE_DIR = SETTINGS.serving_state_dir or Path(tempfile.mkdtemp(prefix="serving-state-"))
os.environ["SERVING_STATE_DIR"] = str(STATE_DIR)


def packaged_model() -> bentoml.models.BentoModel | None:
    """A class-level model reference, so that `bentoml build` carries the model in the Bento."""
    if not PACKAGED.exists():
        return None
    return bentoml.models.BentoModel(json.loads(PACKAGED.read_text())["tag"])


@dataclass(frozen=True)
class Loaded:
    """One served version: what the registry says about it, its request checks and its
    warmed, batched call."""

    served: champion.ServedModel
    check: RecordChecker
    batcher: Batcher
    metadata: dict
    folder: Any  # keeps the downloaded files alive as long as the version is served


def describe(served: champion.ServedModel) -> dict:
    """What /metadata answers: the version, and each raw feature as a client must send it."""
    contract = served.contract.describe()
    return {
        "model": served.name,
        "version": served.version,
        "run_id": served.run_id,
        **contract,
        "threshold": served.threshold,
    }


def request_log() -> RequestLog | None:
    """This worker's request log, when REQUEST_LOG_DIR is set; its counters go to /metrics.

    The counters are made here, in the worker: BentoML points prometheus_client at its
    multi-process folder only once a worker starts, after this module was imported.
    """
    if SETTINGS.request_log_dir is None:
        return None
    import prometheus_client

    dropped = prometheus_client.Counter(
        "request_log_dropped", "Answered requests not logged: the log's queue was full"
    )
    written = prometheus_client.Counter("request_log_written", "Answered requests written to the log")
    return RequestLog(
        SETTINGS.request_log_dir,
        rate=SETTINGS.request_log_rate,
        file_bytes=SETTINGS.request_log_file_bytes,
        max_bytes=SETTINGS.request_log_max_bytes,
        queue_size=SETTINGS.request_log_queue,
        on_drop=dropped.inc,
        on_write=written.inc,
    )


def refuse(ctx: bentoml.Context, status: int, message: str) -> dict:
    """An error answer from an endpoint that takes `ctx`: BentoML applies ctx's status code."""
    ctx.response.status_code = status
    return {"error": message}


async def metadata_get(request: Request) -> JSONResponse:
    """GET /metadata: BentoML's endpoints answer POST only, so this route is mounted beside them."""
    return JSONResponse(bentoml.get_current_service().current.metadata)


# Mounted at the root, matched only where the service's own routes give no full match: a GET
# of /metadata (its POST route matches the path, not the method).
GET_ROUTES = Starlette(routes=[Route("/metadata", metadata_get, methods=["GET"])])


@bentoml.asgi_app(GET_ROUTES, path="/")
@bentoml.service(traffic={"timeout": 30}, workers=WORKERS, logging={"access": {"enabled": ACCESS_LOG}})
class TabularModel:
    """The champion's answers: labels and probabilities (binary, multi-class) or values (regression)."""

    packaged = packaged_model()

    def __init__(self) -> None:
        self.max_records = SETTINGS.max_records
        self.alias_check_s = SETTINGS.alias_check_s
        self.state = handover.state_dir(STATE_DIR)
        # A worker (re)started after a hand-over loads the version its siblings committed.
        request = handover.read_request(self.state) or {}
        self.generation = request.get("generation", 0)
        # (generation, the version loaded for it; None when its load failed)
        self.prepared: tuple[int, Loaded | None] | None = None
        if self.packaged is not None:
            self.current = self._warm(champion.unpack(self.packaged.path), None)
        else:
            name, version = champion.wanted()
            committed = request.get("version") if request.get("phase") == "commit" else None
            self.current = self._load(name, committed or version)
        self._settle_memory()
        self.log = request_log()

    def _load(self, name: str, version: str | None) -> Loaded:
        folder = tempfile.TemporaryDirectory(prefix="served-model-")
        return self._warm(champion.fetch(name, version, folder.name), folder)

    def _warm(self, served: champion.ServedModel, folder: Any) -> Loaded:
        """Load with safe_mode and trace the call, before it answers a single request."""
        from pipeline.ml.model import compiled_logits, load_model

        call = compiled_logits(load_model(served.keras_file))
        return Loaded(
            served,
            RecordChecker(served.contract, self.max_records),
            Batcher(call, max_rows=self.max_records),
            describe(served),
            folder,
        )

    @staticmethod
    def _settle_memory() -> None:
        """Collect once, then exempt what is loaded from the collector's full passes.

        Those passes over TensorFlow's objects stalled about 1 request in 100 by 200-400 ms.
        Unfreezing first lets a replaced model's cycles be collected after a hand-over.
        """
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    # output_spec: the schema BentoML publishes for the JSON body; the method returns the
    # response itself (see below), so its annotation says so.
    @bentoml.api(route="/predict", output_spec=dict)
    async def predict(self, records: list[Any], threshold: Any = None) -> JSONResponse:
        started = time.perf_counter()
        current = self.current  # one version answers the whole request, even mid-hand-over
        contract = current.served.contract
        try:
            check_threshold(threshold, contract.task)
            inputs = current.check(records)
        except RequestError as exc:
            return JSONResponse(exc.to_dict(), status_code=422)
        raw = await current.batcher(inputs)
        try:
            check_outputs(raw)
        except RequestError as exc:
            return JSONResponse(exc.to_dict(), status_code=422)
        used = current.served.threshold if threshold is None else float(threshold)
        answer = {
            "model": current.served.name,
            "version": current.served.version,
            "threshold": used,
            "predictions": answers(raw, contract.task, contract.class_labels, used),
        }
        if self.log is not None:  # the body's records and the answer only: never a header
            self.log.record(
                {
                    "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    **answer,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                    "records": records,
                }
            )
        # A response BentoML need not serialise: its own path rebuilt the output's JSON schema
        # on every request (8 % of a request's time in a profile).
        return JSONResponse(answer)

    @bentoml.api(route="/metadata", output_spec=dict)
    def metadata(self) -> JSONResponse:
        """The served version and its raw features (also answered to GET /metadata)."""
        return JSONResponse(self.current.metadata)

    @bentoml.api(route="/admin/reload")
    async def reload(self, ctx: bentoml.Context, version: Any = None) -> dict:
        """Serve the champion now (or `version`) in every worker, or keep the current one."""
        if SETTINGS.admin_token is None:  # with it, BearerAuth checked the caller already
            return refuse(ctx, 403, "reload is disabled: start the service with ADMIN_TOKEN set")
        if self.packaged is not None:
            return refuse(ctx, 409, "a Bento serves the model packaged in it: build a new Bento")
        previous = self.current.served
        try:
            target = await asyncio.to_thread(
                champion.resolve, previous.name, None if version is None else str(version)
            )
        except Exception as exc:  # no such version or alias, registry unreachable
            return refuse(ctx, 409, f"kept v{previous.version}: {exc}")
        if str(target.version) == previous.version:
            return {"changed": False, "version": previous.version}
        outcome = await handover.coordinate(self.state, str(target.version), WORKERS, RELOAD_TIMEOUT_S)
        if outcome["phase"] == "commit" and not outcome["committed"]:
            answered = len(outcome["reports"])
            return refuse(
                ctx,
                500,
                f"hand-over to v{target.version} committed in {answered} of "
                f"{WORKERS} workers only; call reload again to settle them",
            )
        if not outcome["committed"]:
            problems = [r.get("error", "") for r in outcome["reports"] if r["state"] == "failed"]
            return refuse(
                ctx,
                409,
                f"kept v{previous.version} in every worker: "
                f"{'; '.join(problems) or 'a worker did not answer in time'}",
            )
        return {
            "changed": True,
            "version": str(target.version),
            "previous": previous.version,
            "workers": WORKERS,
        }

    @bentoml.on_shutdown
    def close_request_log(self) -> None:
        if self.log is not None:
            self.log.close()

    @bentoml.on_startup
    async def watch_for_handovers(self) -> None:
        asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        """Follow the hand-over protocol; optionally notice a moved champion alias by itself."""
        last_alias_check = time.monotonic()
        while True:
            await asyncio.sleep(handover.POLL_S)
            try:
                await self._follow(handover.read_request(self.state))
                if self.alias_check_s and time.monotonic() - last_alias_check >= self.alias_check_s:
                    last_alias_check = time.monotonic()
                    await self._check_alias()
            except Exception as exc:  # a failed check must never stop the watcher
                print(
                    f"[serve] hand-over check failed, still serving v{self.current.served.version}: {exc}",
                    flush=True,
                )

    async def _follow(self, request: dict | None) -> None:
        if request is None or request["generation"] <= self.generation:
            return
        generation, phase = request["generation"], request["phase"]
        if phase == "prepare" and (self.prepared is None or self.prepared[0] != generation):
            try:
                loaded = await asyncio.to_thread(self._load, self.current.served.name, request["version"])
            except Exception as exc:  # the old version keeps serving
                handover.report(self.state, generation, "failed", error=f"pid {os.getpid()}: {exc}")
                self.prepared = (generation, None)
                return
            self.prepared = (generation, loaded)
            handover.report(self.state, generation, "ready")
        elif (
            phase == "commit"
            and self.prepared
            and self.prepared[0] == generation
            and (ready := self.prepared[1])
        ):
            self.current, self.prepared, self.generation = ready, None, generation
            handover.report(self.state, generation, "committed", version=self.current.served.version)
            self._settle_memory()
        elif phase == "abort":
            self.prepared, self.generation = None, generation

    async def _check_alias(self) -> None:
        """ALIAS_CHECK_S: each worker swaps by itself when the champion alias has moved."""
        if self.packaged is not None:
            return
        served = self.current.served
        found = await asyncio.to_thread(champion.resolve, served.name, None)
        if str(found.version) != served.version:
            self.current = await asyncio.to_thread(self._load, served.name, str(found.version))
            self._settle_memory()
            print(f"[serve] champion moved: now serving v{self.current.served.version}", flush=True)


# The ignores: `bentoml.service` is typed Any (bentoml imports its SDK lazily), so mypy still
# sees the plain class; at run time the decorator made it a bentoml.Service, which has this method.
TabularModel.add_asgi_middleware(BodyLimit, max_bytes=SETTINGS.max_body_bytes)  # type: ignore[attr-defined]
TabularModel.add_asgi_middleware(JsonOnly, paths=("/predict", "/metadata", "/admin/reload"))  # type: ignore[attr-defined]
for token, path in ((SETTINGS.predict_token, "/predict"), (SETTINGS.admin_token, "/admin/reload")):
    if token is not None:
        TabularModel.add_asgi_middleware(BearerAuth, token=token.get_secret_value(), paths=(path,))  # type: ignore[attr-defined]

"""Single-record HTTP predictions: this service vs `mlflow models serve`, side by side.

Three servers on 127.0.0.1 over the same champion: the BentoML service (`python -m serving`),
MLflow serving the Keras flavour as the pipeline logs it, and MLflow serving the same model
logged with `save_exported_model=True` (its fastest Keras path). Each is loaded for
`--seconds` at concurrency 1 and 32, one after another in one run; the in-process call of the
compiled model is reported as the floor. Run after `make run` (it needs a champion).

    python -m bench.serving --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from pipeline.io import champion, tracking


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(cmd: list[str], ready_url: str, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{cmd[:3]} exited; see {log}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{ready_url} not ready; see {log}")


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


async def load(url: str, bodies: list[bytes], concurrency: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.monotonic() < deadline:
                start_at = time.perf_counter()
                try:
                    response = await client.post(url, content=bodies[i % len(bodies)], headers=headers)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - start_at)
                errors += not ok
                i += concurrency
        began = time.monotonic()
        await asyncio.gather(*(worker(k) for k in range(concurrency)))
        elapsed = time.monotonic() - began
    ms = np.array(latencies) * 1000
    return {"req_s": len(latencies) / elapsed, "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)), "errors": errors, "n": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    tracking.configure()
    name, number = champion.wanted()
    folder = tempfile.mkdtemp(prefix="bench-serving-")
    served = champion.fetch(name, number, folder)
    features = served.schema.features
    frame = pd.read_parquet("data/prepared/holdout.parquet")[features]
    rows = frame.to_dict("records")
    ours_bodies = [pd.io.json.ujson_dumps({"records": [r]}).encode() for r in rows]
    mlflow_bodies = [pd.io.json.ujson_dumps({"inputs": [[float(r[f]) for f in features]]}).encode()
                     for r in rows]

    import mlflow

    from pipeline.ml.model import compiled_logits, load_model

    model = load_model(served.keras_file)
    call = compiled_logits(model)  # the service's own call: the floor it cannot beat
    one = frame.to_numpy(dtype="float32")[:1]
    floor = []
    for _ in range(2000):
        t = time.perf_counter()
        call(one)
        floor.append((time.perf_counter() - t) * 1000)

    # The same weights, logged the way MLflow serves fastest.
    mlflow.set_experiment("bench-serving")
    with mlflow.start_run(run_name="exported-model"):
        signature = mlflow.models.infer_signature(one, call(one))
        exported = mlflow.keras.log_model(model, name="exported", save_exported_model=True,
                                          signature=signature,
                                          pip_requirements=["keras", "tensorflow-cpu"]).model_uri

    bindir = Path(sys.executable).parent
    servers = {
        "bentoml service (this project)": (
            [sys.executable, "-m", "serving", "--port", "{port}"], "/readyz", "/predict",
            ours_bodies),
        "mlflow models serve, keras flavour": (
            [str(bindir / "mlflow"), "models", "serve", "-m", f"models:/{name}/{served.version}",
             "--env-manager", "local", "-h", "127.0.0.1", "-p", "{port}"],
            "/ping", "/invocations", mlflow_bodies),
        "mlflow models serve, save_exported_model": (
            [str(bindir / "mlflow"), "models", "serve", "-m", exported, "--env-manager", "local",
             "-h", "127.0.0.1", "-p", "{port}"], "/ping", "/invocations", mlflow_bodies),
    }
    os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ['PATH']}"  # mlflow execs uvicorn
    results: dict[tuple[str, int], dict] = {}
    for label, (cmd, ready, path, bodies) in servers.items():
        port = free_port()
        cmd = [part.replace("{port}", str(port)) for part in cmd]
        process = start(cmd, f"http://127.0.0.1:{port}{ready}", Path(folder) / f"{port}.log")
        try:
            url = f"http://127.0.0.1:{port}{path}"
            asyncio.run(load(url, bodies, 4, 3))  # warm-up
            for concurrency in (1, 32):
                results[label, concurrency] = asyncio.run(load(url, bodies, concurrency, args.seconds))
        finally:
            stop(process)

    print(f"in-process compiled call, 1 record: p50 {statistics.median(floor):.3f} ms, "
          f"p99 {np.percentile(floor, 99):.3f} ms")
    print("| server | concurrency | req/s | p50 ms | p99 ms | errors | vs keras flavour | vs exported |")
    print("|---|---|---|---|---|---|---|---|")
    labels = list(servers)
    for concurrency in (1, 32):
        for label in labels:
            r = results[label, concurrency]
            flavour = r["req_s"] / results[labels[1], concurrency]["req_s"]
            exported_ratio = r["req_s"] / results[labels[2], concurrency]["req_s"]
            print(f"| {label} | {concurrency} | {r['req_s']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
                  f"| {r['errors']} | {flavour:.2f}x | {exported_ratio:.2f}x |")


if __name__ == "__main__":
    main()

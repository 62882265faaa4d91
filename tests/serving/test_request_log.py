"""The request log: the writer on real files (sampling, rotation, the size cap, drops), and a real
served model whose log is read back (the records, the answers, no header, nothing when off)."""

from __future__ import annotations

import json
import random
import sys
import threading
import time

import pytest

from pipeline.io.request_log import entries, log_files, row_batches
from serving.request_log import RequestLog
from tests.conftest import MODEL, holdout, serve, tool_env

integration = pytest.mark.integration


def entry(i: int) -> dict:
    return {
        "time": "2026-11-30T00:00:00.000+00:00",
        "model": "m",
        "version": "1",
        "threshold": 0.5,
        "latency_ms": 1.0,
        "records": [{"x": i, "colour": "red" if i % 2 else None}],
        "predictions": [{"label": "yes", "probabilities": {"no": 0.25, "yes": 0.75}}],
    }


def test_sampling_logs_the_seeded_share(tmp_path):
    log = RequestLog(tmp_path, rate=0.3, seed=7)
    kept = [log.record(entry(i)) for i in range(1000)]
    log.close()
    draws = random.Random(7)
    assert kept == [draws.random() < 0.3 for _ in range(1000)]
    assert [e["records"][0]["x"] for e in entries(tmp_path)] == [i for i, k in enumerate(kept) if k]
    assert log.written == sum(kept) == 336


def test_files_rotate_and_the_oldest_closed_go_beyond_the_cap(tmp_path):
    def same_width(i: int) -> dict:
        return {**entry(i), "records": [{"x": i}]}

    line_bytes = len(json.dumps(same_width(100), separators=(",", ":"))) + 1
    log = RequestLog(tmp_path, file_bytes=10 * line_bytes, max_bytes=30 * line_bytes + 50)
    for i in range(100, 200):
        log.record(same_width(i))
    log.close()
    files = log_files(tmp_path)
    assert all(f.name.endswith(".jsonl") for f in files)  # closed and renamed
    assert sum(f.stat().st_size for f in files) <= 30 * line_bytes + 50
    assert len(files) == 3  # 10 files of 10 lines were written; the 7 oldest went
    kept = [e["records"][0]["x"] for e in entries(tmp_path)]
    assert kept == list(range(170, 200))  # the newest survive, in order


def test_a_full_queue_drops_and_counts_without_blocking(tmp_path):
    release = threading.Event()

    class Stalled(RequestLog):
        def _write(self, item):  # a disk that hangs
            release.wait(10)
            super()._write(item)

    counted = []
    log = Stalled(tmp_path, queue_size=2, on_drop=lambda: counted.append(1))
    results = [log.record(entry(i)) for i in range(10)]
    release.set()
    log.close()
    # the first went to the (stalled) writer, two waited in the queue, the rest were dropped
    assert results.count(True) in (2, 3) and log.dropped == len(counted) == results.count(False)
    assert log.written == results.count(True)


def test_rows_come_back_with_their_answers_and_cut_lines_are_skipped(tmp_path):
    log = RequestLog(tmp_path)
    for i in range(3):
        log.record(entry(i))
    log.close()
    (tmp_path / "requests-29991231T000000-1-000001.jsonl.part").write_text('{"records": [{"x": 9')
    frame = next(row_batches(tmp_path))
    assert frame.fillna("-").to_dict("records") == [
        {"x": i, "colour": "red" if i % 2 else "-", "p_no": 0.25, "p_yes": 0.75, "label": "yes"}
        for i in range(3)
    ]
    with pytest.raises(Exception, match="holds no request log"):
        list(entries(tmp_path / "nothing"))


@integration
def test_a_served_model_logs_what_it_answered_and_never_a_token(served, mlflow_server, tmp_path):
    repo, plain = served
    records, _ = holdout(repo)
    folder = tmp_path / "log"
    env = tool_env(
        MLFLOW_TRACKING_URI=mlflow_server,
        MODEL_NAME=MODEL,
        REQUEST_LOG_DIR=str(folder),
        REQUEST_LOG_FILE_BYTES="4096",
        PREDICT_TOKEN="s3cret-token",
        WORKERS="1",
    )
    answers = []
    with serve([sys.executable, "-m", "serving"], repo, env) as client:
        headers = {"Authorization": "Bearer s3cret-token"}
        for i in range(40):
            answers.append(
                client.post("/predict", json={"records": records[i : i + 2]}, headers=headers).json()
            )
        deadline = time.monotonic() + 10  # the writer wakes every 0.2 s
        while "request_log_written_total 40.0" not in (metrics := client.get("/metrics").text):
            assert time.monotonic() < deadline, metrics[-2000:]
            time.sleep(0.2)
    logged = list(entries(folder))
    assert len(logged) == 40 and len(log_files(folder)) > 1  # rotated at 4 KiB
    for sent, got, answer in zip(range(40), logged, answers):
        assert got["records"] == json.loads(json.dumps(records[sent : sent + 2]))
        assert got["predictions"] == answer["predictions"]
        assert (got["model"], got["version"], got["threshold"]) == (
            MODEL,
            answer["version"],
            answer["threshold"],
        )
        assert got["latency_ms"] > 0 and got["time"].endswith("+00:00")
    text = "".join(p.read_text() for p in log_files(folder))
    assert "s3cret-token" not in text and "Bearer" not in text
    assert "request_log_written_total 40.0" in metrics and "request_log_dropped_total 0.0" in metrics
    # the shared service runs without REQUEST_LOG_DIR: it logs nothing anywhere
    assert plain.post("/predict", json={"records": records[:1]}).status_code == 200
    assert not list(repo.rglob("requests-*"))

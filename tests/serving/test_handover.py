"""serving/handover.py: the two-phase hand-over, with workers played by threads on the shared folder."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time

import pytest

from serving import handover


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setattr(handover, "POLL_S", 0.01)


def write_report(folder, worker: int, generation: int, state: str) -> None:
    (folder / f"worker-{worker}.json").write_text(json.dumps({"generation": generation, "state": state}))


def workers(folder, answers: list[str | None], stop: threading.Event) -> threading.Thread:
    """Workers that follow request.json: at `prepare` each answers its state ("ready",
    "failed", or None: never answers), at `commit` the ready ones report "committed"."""

    def follow() -> None:
        done = set()
        while not stop.is_set():
            request = handover.read_request(folder)
            if request and (request["generation"], request["phase"]) not in done:
                done.add((request["generation"], request["phase"]))
                for worker, answer in enumerate(answers):
                    if answer is None:
                        continue
                    if request["phase"] == "prepare":
                        write_report(folder, worker, request["generation"], answer)
                    elif request["phase"] == "commit" and answer == "ready":
                        write_report(folder, worker, request["generation"], "committed")
            time.sleep(0.005)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    return thread


def coordinate(folder, answers, timeout_s=5.0) -> dict:
    stop = threading.Event()
    thread = workers(folder, answers, stop)
    try:
        return asyncio.run(handover.coordinate(folder, "3", len(answers), timeout_s))
    finally:
        stop.set()
        thread.join()


def test_every_worker_ready_commits(tmp_path):
    result = coordinate(tmp_path, ["ready", "ready"])
    assert result["phase"] == "commit" and result["committed"] is True
    assert sorted(r["state"] for r in result["reports"]) == ["committed", "committed"]
    assert handover.read_request(tmp_path) == {"generation": 1, "version": "3", "phase": "commit"}


def test_one_failed_worker_aborts_for_all(tmp_path):
    result = coordinate(tmp_path, ["ready", "failed"])
    assert (result["phase"], result["committed"]) == ("prepare", False)
    assert sorted(r["state"] for r in result["reports"]) == ["failed", "ready"]
    assert handover.read_request(tmp_path)["phase"] == "abort"


def test_a_silent_worker_aborts_after_the_timeout(tmp_path):
    started = time.monotonic()
    result = coordinate(tmp_path, ["ready", None], timeout_s=0.3)
    assert 0.3 <= time.monotonic() - started < 5
    assert (result["phase"], result["committed"]) == ("prepare", False)
    assert [r["state"] for r in result["reports"]] == ["ready"]
    assert handover.read_request(tmp_path)["phase"] == "abort"


def test_each_hand_over_is_a_new_generation_and_old_reports_do_not_count(tmp_path):
    write_report(tmp_path, 9, 1, "ready")  # a worker's report of an earlier generation
    assert coordinate(tmp_path, ["ready"])["committed"] is True
    assert coordinate(tmp_path, ["ready"])["committed"] is True
    assert handover.read_request(tmp_path)["generation"] == 2


def test_report_writes_this_workers_file_whole(tmp_path):
    handover.report(tmp_path, 4, "failed", error="out of memory")
    written = json.loads((tmp_path / f"worker-{os.getpid()}.json").read_text())
    assert written == {"generation": 4, "state": "failed", "error": "out of memory"}
    assert [p.name for p in tmp_path.iterdir()] == [f"worker-{os.getpid()}.json"]  # no temporary left


def test_a_missing_or_half_written_request_reads_as_none(tmp_path):
    assert handover.read_request(tmp_path) is None
    (tmp_path / handover.REQUEST).write_text('{"generation": 1, "ver')
    assert handover.read_request(tmp_path) is None


def test_state_dir_is_made_if_need_be(tmp_path):
    assert handover.state_dir(tmp_path / "state") == tmp_path / "state"
    assert (tmp_path / "state").is_dir()

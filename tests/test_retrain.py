"""Unattended retraining for real: the lock, kill -9 and resume, divergence, hot hand-over.

The tests share one project, one registry and one running service (2 workers), started
with v1, a weak champion (3 epochs): a diverging run changes nothing; a run killed half-way
resumes and produces a better version; the service hands over to a new champion under load.
Each test holds in any order: it compares with the state it finds, not with a number of
versions that other tests would have made.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from pipeline.io.resume import backups
from tests.conftest import make_project, serve, tool_env
from tests.helpers import set_dotted

pytestmark = pytest.mark.integration

MODEL = "retrain-test"
TOKEN = "test-token-not-a-secret"
PASSWORD = "pw-never-logged"
RETRAIN = [sys.executable, "-m", "pipeline.retrain"]


def set_params(repo, **changes) -> None:
    """Edit the workspace's params.yaml, as a user (or `dvc exp run -S`) would."""
    path = repo / "params.yaml"
    params = set_dotted(yaml.safe_load(path.read_text()), changes)
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def retrain(repo, env) -> subprocess.CompletedProcess:
    return subprocess.run(RETRAIN, cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def served_version(client) -> str:
    return client.post("/metadata", json={}).json()["version"]


def version_count(registry) -> int:
    return len(registry.search_model_versions(f"name='{MODEL}'"))


def report(repo) -> dict:
    return json.loads((repo / "reports/retrain/report.json").read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory, mlflow_server):
    repo = make_project(tmp_path_factory.mktemp("retrain"), {"train.epochs": 3, "register.model_name": MODEL})
    # Credentials in the tracking URI (the server ignores them): they must never leak.
    env = tool_env(MLFLOW_TRACKING_URI=mlflow_server.replace("//", f"//ci-user:{PASSWORD}@"))
    first = retrain(repo, env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert f"{MODEL} v1 promoted to champion" in first.stdout.splitlines()[-1]
    first_report = report(repo)  # what the first retrain reported, before other tests run again
    with serve(
        [sys.executable, "-m", "serving"], repo, {**env, "ADMIN_TOKEN": TOKEN, "WORKERS": "2"}
    ) as client:
        yield repo, env, client, MlflowClient(mlflow_server), first_report


@pytest.fixture
def new_champion(project) -> tuple[str, str]:
    """(served, champion): a champion newer than the one the service serves. The killed and
    resumed retrain makes one; without it (this test alone, or before it), a retrain of 30
    epochs does, which beats the 3 of the first (30, not 40: that test must still train)."""
    repo, env, client, registry, _ = project
    served = served_version(client)
    if registry.get_model_version_by_alias(MODEL, "champion").version == served:
        params = (repo / "params.yaml").read_text()
        try:
            set_params(repo, **{"train.epochs": 30, "train.early_stopping.patience": 30})
            done = retrain(repo, env)
        finally:
            (repo / "params.yaml").write_text(params)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    champion = registry.get_model_version_by_alias(MODEL, "champion").version
    assert champion != served
    return served, champion


def test_first_retrain_reports_a_promoted_version(project):
    _, _, _, _, done = project
    assert (done["status"], done["changed"], done["version"], done["promoted"]) == (
        "succeeded",
        True,
        1,
        True,
    )
    assert done["champion_version"] is None and done["duration_s"] > 0


def test_a_diverging_run_fails_and_changes_nothing(project):
    repo, env, client, registry, _ = project
    champion, versions, served = (
        registry.get_model_version_by_alias(MODEL, "champion").version,
        version_count(registry),
        served_version(client),
    )
    # elu: with relu a huge step can instead kill every unit and the loss just flattens.
    set_params(
        repo,
        **{
            "train.optimizer": "sgd",
            "train.learning_rate": 10.0,
            "train.epochs": 30,
            "model.activation": "elu",
        },
    )
    try:
        done = retrain(repo, env)
    finally:
        set_params(
            repo,
            **{
                "train.optimizer": "adam",
                "train.learning_rate": 0.001,
                "train.epochs": 3,
                "model.activation": "relu",
            },
        )
    assert done.returncode == 1
    assert "[retrain] FAILED" in done.stdout
    failed = report(repo)
    assert failed["status"] == "failed" and "training diverged" in failed["error"]
    assert registry.get_model_version_by_alias(MODEL, "champion").version == champion
    assert version_count(registry) == versions  # nothing registered
    run = registry.search_runs(
        [registry.get_experiment_by_name("keras-tabular").experiment_id],
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )[0]
    assert (run.info.status, run.data.tags["diagnosis"]) == ("FAILED", "diverged")
    assert served_version(client) == served  # the service is untouched


def wait_for_backup(repo, epoch: int, process: subprocess.Popen, timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for folder in repo.glob("models/checkpoints/resume-*/keras"):
            saved = backups(folder)
            if saved and saved[0][0] >= epoch:
                return saved[0][0]
        assert process.poll() is None, "the retrain ended before reaching the epoch"
        time.sleep(0.2)
    raise TimeoutError(f"no backup of epoch {epoch}")


def test_one_retrain_at_a_time_and_a_killed_one_resumes(project):
    repo, env, _, registry, first = project
    versions = version_count(registry)
    # 40 epochs beat the first retrain's 3; a champion another test made may be as good.
    beats = registry.get_model_version_by_alias(MODEL, "champion").version == str(first["version"])
    params = (repo / "params.yaml").read_text()
    try:
        set_params(repo, **{"train.epochs": 40, "train.early_stopping.patience": 40})
        killed_and_resumed(repo, env, registry, versions, beats)
    finally:
        (repo / "params.yaml").write_text(params)  # back to 3 epochs for the other tests


def killed_and_resumed(repo, env, registry, versions: int, beats: bool) -> None:
    first = subprocess.Popen(
        RETRAIN,
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_backup(repo, 5, first)
        second = retrain(repo, env)
        assert second.returncode == 75
        assert f"another retrain holds .retrain.lock: pid {first.pid} on " in second.stderr
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    resumable = list(repo.glob("models/checkpoints/resume-*"))
    assert len(resumable) == 1
    saved_epoch = backups(resumable[0] / "keras")[0][0]
    saved_rows = [json.loads(line) for line in (resumable[0] / "epochs.jsonl").read_text().splitlines()]
    killed_run = json.loads((resumable[0] / "run.json").read_text())["run_id"]

    resumed = retrain(repo, env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert f"resuming run {killed_run} after epoch {saved_epoch}" in resumed.stdout
    history = pd.read_csv(repo / "reports/train/history.csv")
    assert history["epoch"].tolist() == list(range(1, 41))  # no gap, no duplicate
    before = pd.DataFrame([r for r in saved_rows if r["epoch"] <= saved_epoch])
    pd.testing.assert_frame_equal(history.iloc[:saved_epoch][before.columns], before, check_dtype=False)
    assert json.loads((repo / "reports/train/run.json").read_text())["run_id"] == killed_run
    assert [m.step for m in registry.get_metric_history(killed_run, "loss")] == list(range(1, 41))
    assert not list(repo.glob("models/checkpoints/resume-*"))  # finished: nothing to resume
    done = report(repo)
    assert done["version"] == versions + 1, done
    if beats:
        assert done["promoted"] is True, done


def test_the_service_hands_over_to_the_new_champion_without_a_failed_request(project, new_champion):
    repo, _, client, registry, _ = project
    served, champion = new_champion
    record = pd.read_parquet(repo / "data/prepared/holdout.parquet").drop(columns="target").iloc[0]
    body = {"records": [record.to_dict()]}
    answers: list[tuple[int, str]] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            response = client.post("/predict", json=body)
            answers.append((response.status_code, response.json().get("version")))

    assert client.post("/admin/reload", json={}).status_code == 401  # no token
    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        time.sleep(0.5)
        done = client.post("/admin/reload", json={}, headers={"authorization": f"Bearer {TOKEN}"})
        after = [client.post("/predict", json=body).json()["version"] for _ in range(20)]
    finally:
        stop.set()
        worker.join()
    assert done.status_code == 200, done.text
    assert done.json() == {"changed": True, "version": champion, "previous": served, "workers": 2}
    assert after == [champion] * 20  # every worker answers with the new version at once
    assert {status for status, _ in answers} == {200}  # not one failed request meanwhile
    versions = [int(version) for _, version in answers]
    assert versions[0] == int(served) and int(champion) in versions
    assert versions == sorted(versions)  # never back to the old version


def test_a_broken_table_is_refused_before_anything_is_replaced(project):
    repo, env, client, registry, _ = project
    champion, served = registry.get_model_version_by_alias(MODEL, "champion").version, served_version(client)
    prepared = {p.name: p.read_bytes() for p in (repo / "data/prepared").iterdir()}
    (repo / "user.csv").write_text("a;b;target\n1;2;0\n3;4;1\n")
    set_params(repo, **{"data.path": "user.csv"})
    try:
        done = retrain(repo, env)
    finally:
        set_params(repo, **{"data.path": "data/raw/breast_cancer.csv"})
    assert done.returncode == 1
    failed = report(repo)
    assert failed["step"] == "preflight (prepare --check)"
    assert "looks separated by semicolons" in failed["error"]
    assert {p.name: p.read_bytes() for p in (repo / "data/prepared").iterdir()} == prepared
    assert registry.get_model_version_by_alias(MODEL, "champion").version == champion
    assert served_version(client) == served


def test_no_secret_in_logs_reports_params_or_tags(project):
    """The tracking URI's password and the admin token, after whatever ran before with them."""
    repo, _, _, registry, _ = project
    logs = "".join(p.read_text() for p in repo.glob("serve-*.log"))
    logs += (repo / "reports/retrain/report.json").read_text()
    assert PASSWORD not in logs and TOKEN not in logs
    experiment = registry.get_experiment_by_name("keras-tabular").experiment_id
    runs = registry.search_runs([experiment])
    assert runs  # the first retrain's, and those of the tests that ran before this one
    for run in runs:
        recorded = " ".join(map(str, [*run.data.params.values(), *run.data.tags.values()]))
        assert PASSWORD not in recorded and TOKEN not in recorded


def write_log(repo, client, shift: float) -> None:
    """A request log of 300 raw rows answered by the running service, "mean radius" moved by
    `shift` training standard deviations (written by the service's own log writer)."""
    from serving.request_log import RequestLog

    frame = pd.read_csv(repo / "data/raw/breast_cancer.csv").drop(columns="target").head(300)
    frame["mean radius"] += shift * frame["mean radius"].std()
    folder = repo / "logs/requests"
    for old in folder.glob("requests-*"):
        old.unlink()
    log = RequestLog(folder)
    for start in range(0, 300, 20):
        records = json.loads(frame.iloc[start : start + 20].to_json(orient="records"))
        answer = client.post("/predict", json={"records": records}).json()
        log.record({**answer, "time": "2026-11-30T00:00:00+00:00", "latency_ms": 1.0, "records": records})
    log.close()


def test_the_policy_skips_without_drift_or_new_data_and_acts_on_drift(project):
    """drift: no drift -> not retraining, exit 0, the reason in the report; a shifted feature ->
    retrains, and register replays the log on the new version. new_data: the same table -> skip."""
    repo, env, client, registry, _ = project
    versions = version_count(registry)
    try:
        set_params(repo, **{"retrain.policy": "new_data"})
        same = retrain(repo, env)
        assert same.returncode == 0, same.stdout[-2000:]
        assert report(repo)["status"] == "skipped"
        assert report(repo)["reason"] == (
            "not retraining because data/raw/breast_cancer.csv has not changed "
            "since the champion learnt from it"
        )
        set_params(repo, **{"retrain.policy": "drift"})
        write_log(repo, client, 0.0)
        # The workspace's last holdout answers may be another version's (a candidate that was
        # never served): the log's answers are compared with their own version's, never these.
        pd.DataFrame({"p_0": [0.5] * 50, "p_1": [0.5] * 50}).to_parquet(
            repo / "reports/eval/predictions.parquet"
        )
        quiet = retrain(repo, env)
        assert quiet.returncode == 0, quiet.stdout[-2000:]
        skipped = report(repo)
        assert skipped["status"] == "skipped" and skipped["drift"]["drifted"] is False, (
            skipped,
            (repo / "reports/drift/report.json").read_text()[-3000:],
        )
        assert skipped["reason"].startswith("not retraining because no feature drifted in 300 logged rows")
        assert "nothing trained: not retraining because" in quiet.stdout.splitlines()[-1]
        checked = json.loads((repo / "reports/drift/report.json").read_text())
        assert checked["rows"]["new"] == 300 and (repo / "reports/drift/worst.png").stat().st_size > 0
        # the answers, against the holdout answers of the version that gave them
        assert [p["name"] for p in checked["predictions"]] == ["p_0", "p_1"]
        assert checked["predictions_of"] == {
            "version": served_version(client),
            "versions": [served_version(client)],
        }
        monitoring = registry.get_experiment_by_name("keras-tabular-monitoring").experiment_id
        run = registry.get_run(checked["run_id"])
        assert run.info.experiment_id == monitoring
        champion = registry.get_model_version_by_alias(MODEL, "champion").version
        assert (run.data.tags["model_version"], run.data.tags["drifted"]) == (str(champion), "False")
        assert version_count(registry) == versions

        write_log(repo, client, 1.0)
        set_params(repo, **{"train.epochs": 4})  # something to train: a version unlike the served one
        acted = retrain(repo, env)
        assert acted.returncode == 0, acted.stdout[-3000:]
        done = report(repo)
        assert done["status"] == "succeeded" and done["drift"]["drifted_features"][0] == "mean radius"
        assert done["decision"].startswith("retraining because the traffic drifted: mean radius")
        registered = json.loads((repo / "reports/register/registration.json").read_text())
        replayed = registered["replay"]
        assert (replayed["requests"], replayed["records"], replayed["unscorable_records"]) == (15, 300, 0)
        assert 0 <= replayed["labels_changed_share"] <= 1
        tags = registry.get_model_version(MODEL, str(registered["version"])).tags
        assert tags["replay.records"] == "300"
        assert float(tags["replay.labels_changed_share"]) == replayed["labels_changed_share"]

        # replay by hand, against a second version: the one the log was served by answers the same
        served = served_version(client)
        again = subprocess.run(
            [sys.executable, "-m", "pipeline.replay", "--version", served],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0, again.stderr[-2000:]
        same_model = json.loads((repo / "reports/replay/report.json").read_text())
        assert same_model["served_versions"] == [served] and same_model["labels_changed_share"] == 0.0
        assert same_model["difference"]["max_abs"] < 1e-5
        assert len(same_model["slowest"]) == 5
    finally:
        set_params(repo, **{"retrain.policy": "always", "train.epochs": 3})
        for old in (repo / "logs/requests").glob("requests-*"):
            old.unlink()

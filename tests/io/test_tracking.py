import pytest

from pipeline.io.tracking import shown_uri, tracking_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://ci:s3cret@mlflow.internal:5000", "http://ci:***@mlflow.internal:5000"),
        ("postgresql+psycopg2://mlflow:pw@db:5432/mlflow", "postgresql+psycopg2://mlflow:***@db:5432/mlflow"),
        ("postgresql+psycopg2://mlflow@db:5432/mlflow", "postgresql+psycopg2://mlflow@db:5432/mlflow"),
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
    ],
)
def test_passwords_never_reach_a_message(uri, shown):
    assert shown_uri(uri) == shown


def test_queued_experiments_track_into_the_repository_store(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    assert tracking_uri() == "sqlite:///mlflow.db"
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # what DVC sets in a queued experiment's copy
    assert tracking_uri() == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"


def test_record_writes_metrics_and_tags_on_the_active_run_at_once(monkeypatch, tmp_path):
    from mlflow import MlflowClient

    from pipeline.io import tracking

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(RuntimeError, match="start it first"):
        tracking.record({"kept_epoch": 3}, {})
    with tracking.new_run(f"record-{tmp_path.name}", "r", {}) as run_id:
        tracking.record({"kept_epoch": 3}, {"diagnosis": "healthy", "train.early_stopped": True})
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.metrics == {"kept_epoch": 3.0}
    assert run.data.tags["diagnosis"] == "healthy" and run.data.tags["train.early_stopped"] == "True"

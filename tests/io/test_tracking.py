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

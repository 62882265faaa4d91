"""The service's environment, read once and checked: every bad value named, with its fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.io import settings as settings_module
from pipeline.io.settings import Settings, SettingsError, from_environ
from tests.conftest import ROOT, tool_env


def refused(environ: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        from_environ(environ)
    return str(caught.value)


def test_defaults_when_nothing_is_set():
    assert from_environ({}) == Settings(
        model_name=None,
        model_version=None,
        max_records=1000,
        max_body_bytes=4 << 20,
        workers=2,
        admin_token=None,
        predict_token=None,
        alias_check_s=0.0,
        access_log=False,
        serving_state_dir=None,
        host="127.0.0.1",
        port=3000,
    )


def test_values_are_typed_and_an_empty_variable_means_unset():
    chosen = from_environ(
        {
            "MODEL_NAME": "wine-model",
            "MODEL_VERSION": "3",
            "MAX_RECORDS": "200",
            "MAX_BODY_BYTES": "200000",
            "WORKERS": "4",
            "ADMIN_TOKEN": "s3cret",
            "PREDICT_TOKEN": "",
            "ALIAS_CHECK_S": "0.5",
            "ACCESS_LOG": "1",
            "SERVING_STATE_DIR": "/tmp/state",
            "PORT": "8080",
            "UNRELATED": "ignored",
        }
    )
    assert (chosen.model_name, chosen.model_version) == ("wine-model", "3")
    assert (chosen.max_records, chosen.max_body_bytes, chosen.workers) == (200, 200_000, 4)
    assert chosen.admin_token is not None and chosen.admin_token.get_secret_value() == "s3cret"
    assert chosen.predict_token is None
    assert (chosen.alias_check_s, chosen.access_log, chosen.port) == (0.5, True, 8080)
    assert chosen.serving_state_dir == Path("/tmp/state")


def test_a_word_for_a_number_is_refused_with_the_name_the_value_and_the_fix():
    assert refused({"MAX_RECORDS": "abc"}) == (
        "MAX_RECORDS = 'abc': not an integer. Fix: set MAX_RECORDS to the most records per request, "
        "a whole number >= 1, or unset it (1000)."
    )


@pytest.mark.parametrize(
    "variable, value, problem",
    [
        ("MAX_RECORDS", "0", "below 1"),
        ("MAX_BODY_BYTES", "1e6", "not an integer"),
        ("WORKERS", "1.5", "not an integer"),
        ("ALIAS_CHECK_S", "soon", "not a number"),
        ("ALIAS_CHECK_S", "-1", "below 0"),
        ("ALIAS_CHECK_S", "inf", "not a finite number"),
        ("ACCESS_LOG", "maybe", "not 1 or 0"),
        ("MODEL_VERSION", "champion", "not a version number"),
        ("PORT", "99999", "above 65535"),
    ],
)
def test_each_bad_value_is_named_with_its_problem(variable, value, problem):
    message = refused({variable: value})
    assert message.startswith(f"{variable} = {value!r}: {problem}. Fix: set {variable} to ")


def test_every_bad_variable_is_listed_at_once():
    message = refused({"MAX_RECORDS": "abc", "WORKERS": "0", "MAX_BODY_BYTES": "100"})
    assert [line.split(" = ")[0] for line in message.splitlines()] == ["MAX_RECORDS", "WORKERS"]


def test_a_token_is_checked_but_never_shown():
    message = refused({"ADMIN_TOKEN": "my secret token"})
    assert message == (
        "ADMIN_TOKEN = (hidden): contains white space, which a bearer token in a header cannot carry. "
        "Fix: set ADMIN_TOKEN to the bearer token for POST /admin/reload, one word, or unset it "
        "(reload is off)."
    )
    assert "secret" not in message
    assert "s3cret" not in repr(from_environ({"PREDICT_TOKEN": "s3cret"}))


def test_the_environment_is_read_once(monkeypatch):
    settings_module.settings.cache_clear()
    monkeypatch.setenv("MAX_RECORDS", "7")
    try:
        first = settings_module.settings()
        monkeypatch.setenv("MAX_RECORDS", "8")
        assert settings_module.settings() is first and first.max_records == 7
    finally:
        settings_module.settings.cache_clear()


def test_python_m_serving_refuses_a_bad_value_before_anything_starts():
    """Exit 2 with the message: BentoML would restart a failing worker forever."""
    done = subprocess.run(
        [sys.executable, "-m", "serving"],
        cwd=ROOT,
        env=tool_env(MAX_RECORDS="abc", PREDICT_TOKEN="two words"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "[serve] error: MAX_RECORDS = 'abc': not an integer. Fix: set MAX_RECORDS to" in done.stderr
    assert "PREDICT_TOKEN = (hidden): contains white space" in done.stderr
    assert "two words" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr

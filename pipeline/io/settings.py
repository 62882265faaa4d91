"""Where and how the model is served: the environment, read and checked once.

`params.yaml` configures the pipeline; these variables configure only where things run (the
service's limits, its workers, its tokens, which registered model it serves). Every reader
takes them from `settings()`, never from `os.environ`, so a wrong value is refused at start-up,
by name, with its fix: `python -m serving` exits 2 before BentoML starts a worker (a worker
whose start-up raises is restarted forever). The tracking URI has its own reader,
`pipeline.io.tracking.tracking_uri`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from pipeline.core.errors import PipelineError

DEFAULT_MAX_RECORDS = 1000
DEFAULT_MAX_BODY_BYTES = 4 << 20


class SettingsError(PipelineError):
    """An environment variable of the service holds a value it cannot use."""


class Settings(BaseModel):
    """One field per variable, named as the variable in lower case; unset or empty: the default."""

    # protected_namespaces: `model_name` and `model_version` are variables here, not pydantic's.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, protected_namespaces=())

    model_name: str | None = None  # None: register.model_name in params.yaml
    model_version: str | None = Field(None, pattern=r"^[1-9][0-9]*$")  # None: the champion
    max_records: int = Field(DEFAULT_MAX_RECORDS, ge=1)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1)
    workers: int = Field(2, ge=1)
    admin_token: SecretStr | None = None  # None: POST /admin/reload is disabled
    predict_token: SecretStr | None = None  # None: POST /predict is open
    alias_check_s: float = Field(0.0, ge=0)  # 0: do not follow the champion alias
    access_log: bool = False
    # The request log (serving/request_log.py): off unless a folder is given.
    request_log_dir: Path | None = None
    request_log_rate: float = Field(1.0, ge=0, le=1)  # the share of answered requests logged
    request_log_file_bytes: int = Field(64 << 20, ge=1024)  # a file is closed and a new one begun
    request_log_max_bytes: int = Field(1 << 30, ge=1024)  # the oldest closed files go beyond this
    request_log_queue: int = Field(10_000, ge=1)  # requests waiting to be written; more are dropped
    serving_state_dir: Path | None = None  # set by `python -m serving` (or the service) for its workers
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)

    @field_validator("admin_token", "predict_token")
    @classmethod
    def _one_word(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and any(c.isspace() for c in token.get_secret_value()):
            raise ValueError("contains white space, which a bearer token in a header cannot carry")
        return token


SECRETS = frozenset({"admin_token", "predict_token"})

# The fix of a refused value: what each variable takes, and what unsetting it means.
EXPECTED = {
    "model_name": "the registered model to serve, or unset it (register.model_name in params.yaml)",
    "model_version": "a registered version number such as 3, or unset it (the champion)",
    "max_records": f"the most records per request, a whole number >= 1, or unset it ({DEFAULT_MAX_RECORDS})",
    "max_body_bytes": f"the largest request body in bytes, >= 1, or unset it ({DEFAULT_MAX_BODY_BYTES})",
    "workers": "the number of server processes, a whole number >= 1, or unset it (2)",
    "admin_token": "the bearer token for POST /admin/reload, one word, or unset it (reload is off)",
    "predict_token": "the bearer token for POST /predict, one word, or unset it (/predict is open)",
    "alias_check_s": "the seconds between looks at the champion alias, a number >= 0, or unset it (0: never)",
    "access_log": "1 to log every request or 0 not to, or unset it (0)",
    "request_log_dir": "the folder the request log is written to, or unset it (no log)",
    "request_log_rate": "the share of requests to log, a number from 0 to 1, or unset it (1)",
    "request_log_file_bytes": "the bytes at which a log file is closed, >= 1024, or unset it (64 MiB)",
    "request_log_max_bytes": "the most bytes the log folder may hold, >= 1024, or unset it (1 GiB)",
    "request_log_queue": "the most requests waiting to be written, a whole number >= 1, or unset it (10000)",
    "serving_state_dir": "a writable folder, or unset it (a new temporary folder)",
    "host": "the address to listen on, or unset it (127.0.0.1)",
    "port": "a TCP port from 1 to 65535, or unset it (3000)",
}

# pydantic's error types, in words.
PROBLEMS = {
    "int_parsing": "not an integer",
    "int_from_float": "not an integer",
    "float_parsing": "not a number",
    "finite_number": "not a finite number",
    "bool_parsing": "not 1 or 0",
    "string_pattern_mismatch": "not a version number",
}


def _problem(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in PROBLEMS:
        return PROBLEMS[kind]
    if kind == "greater_than_equal":
        return f"below {ctx['ge']:g}"
    if kind == "less_than_equal":
        return f"above {ctx['le']:g}"
    return str(error["msg"]).removeprefix("Value error, ")


def from_environ(environ: Mapping[str, str]) -> Settings:
    """The settings in `environ`; SettingsError naming every bad variable, its value and the fix."""
    given = {name: environ[name.upper()] for name in Settings.model_fields if environ.get(name.upper())}
    try:
        return Settings.model_validate(given)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0])
            variable = name.upper()
            shown = "(hidden)" if name in SECRETS else repr(given[name])
            lines.append(f"{variable} = {shown}: {_problem(error)}. Fix: set {variable} to {EXPECTED[name]}.")
        raise SettingsError("\n".join(lines)) from None


@functools.cache
def settings() -> Settings:
    """This process's settings, read from its environment once."""
    return from_environ(os.environ)

"""What every entry point shares: a user error is one clear message and exit code 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from pipeline.core.errors import PipelineError

USER_ERROR_EXIT = 2

T = TypeVar("T")


def run_stage(name: str, body: Callable[[], T]) -> T:
    """`body()`'s result; a PipelineError from it is the message and exit code 2."""
    try:
        return body()
    except PipelineError as exc:
        print(f"[{name}] error: {exc}", file=sys.stderr)
        raise SystemExit(USER_ERROR_EXIT) from None

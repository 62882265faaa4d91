"""Where a run came from: the git commit of the code and the DVC experiment it belongs to."""

from __future__ import annotations

import os
import subprocess


def dvc_experiment() -> str | None:
    """The DVC experiment this run belongs to, under `dvc exp run` (DVC sets DVC_EXP_NAME)."""
    return os.environ.get("DVC_EXP_NAME") or None


def git_commit() -> str:
    """The commit the code ran from, suffixed `-dirty` when the work tree had changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if dirty else commit

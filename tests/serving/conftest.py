"""What the serving modules share: the served champion (from tests/conftest.py) and its process."""

from __future__ import annotations

import httpx
import psutil

# The served champion (a model trained on the messy table) lives in tests/conftest.py, shared
# with batch scoring and the skew test.
from tests.conftest import MAX_BODY_BYTES, MAX_RECORDS, MODEL, holdout, served  # noqa: E402,F401


def server_process(client: httpx.Client) -> psutil.Process:
    """The `bentoml serve` process behind `client`: the one started with `--port <its port>`.

    `serve` (tests/conftest.py) does not hand out its Popen, so the process is found by the
    port on its command line; its workers are its descendants (in sessions of their own).
    """
    port = str(client.base_url.port)
    found = []
    for process in psutil.process_iter(["pid", "ppid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(a == "--port" and b == port for a, b in zip(cmdline, cmdline[1:])):
            found.append(process)
    pids = {p.info["pid"] for p in found}
    roots = [p for p in found if p.info["ppid"] not in pids]
    assert len(roots) == 1, f"expected one server process on port {port}, found {found}"
    return roots[0]

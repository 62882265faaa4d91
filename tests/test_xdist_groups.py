"""`make test`'s grouping works: under `-n 2 --dist loadgroup` each group runs on one worker.

A group that spreads over workers makes each of them build the group's shared project (the
served model, the messy projects, a module's own project): the suite still passes, only
slower, so nothing else would notice. Two ways it broke: tests/conftest.py's hook ran after
xdist's (which reads the marks it adds), and pytest 9.2 ignores the node id xdist 3.8 rewrites.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict

from tests.conftest import ROOT

MODULES = ["tests/core/test_splitting.py", "tests/core/test_drift.py", "tests/core/test_baseline.py"]


def test_each_modules_tests_run_on_one_worker():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder", "-v"]
        + ["-p", "no:cacheprovider", *MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    workers = defaultdict(set)
    for worker, module in re.findall(r"^\[(gw\d)\] .*PASSED (tests/[\w/]+\.py)::", done.stdout, re.MULTILINE):
        workers[module].add(worker)
    assert set(workers) == set(MODULES)
    assert {module: len(seen) for module, seen in workers.items()} == dict.fromkeys(MODULES, 1), workers

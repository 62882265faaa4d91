"""Run a Python module as `python -m` would, then write its peak resident memory to a file.

    python -m bench.peak peak.txt pipeline.stages.prepare [args...]

The kernel's high-water mark of this process's own memory (VmHWM), read at exit. The rusage
of a child (wait4) would not do: its peak starts from the parent's size at the fork, so a
benchmark run from a process holding TensorFlow would see every child as that large.
"""

from __future__ import annotations

import atexit
import runpy
import sys
from pathlib import Path


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return float("nan")


def main() -> None:
    output, module, *args = sys.argv[1:]
    atexit.register(lambda: Path(output).write_text(f"{peak_mb():.1f}\n"))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

"""What every benchmark needs: a child process timed with its own peak memory, the machine
it ran on, and the targets judged the same way everywhere."""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float  # the process's own high-water mark (bench/peak.py)


def run(cmd: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> float:
    """Run `cmd` to the end, its output appended to `log`; its wall time in seconds."""
    with open(log, "ab") as out:
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
    if done.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode} in {cwd}:\n{tail}")
    return seconds


def run_module(args: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> Measured:
    """`python -m <args>`: its wall time and its own peak resident memory."""
    with tempfile.TemporaryDirectory() as folder:
        peak = Path(folder) / "peak"
        seconds = run([sys.executable, "-m", "bench.peak", str(peak), *args], cwd, log, env)
        return Measured(seconds, float(peak.read_text()))


def project_env(**extra: str) -> dict[str, str]:
    """The environment a stage runs in: this project importable, the venv's tools first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(extra)
    return env


def median(values: list[float]) -> float:
    return statistics.median(values)


def verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def per_row_ratio(small: tuple[int, float], large: tuple[int, float]) -> float:
    """Cost per row at the larger size over cost per row at the smaller: 1.0 is linear."""
    (n_small, t_small), (n_large, t_large) = small, large
    return (t_large / n_large) / (t_small / n_small)


def memory_growth(peak_small_mb: float, peak_large_mb: float, budget_mb: float) -> tuple[float, bool]:
    """How much more memory the larger run took, and whether that stayed within `budget_mb`."""
    grown = peak_large_mb - peak_small_mb
    return grown, grown <= budget_mb


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal")), 0
    )
    gpu = "no GPU"
    if shutil.which("nvidia-smi"):
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
        gpu = found.stdout.strip().replace("\n", "; ") or gpu
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("tensorflow-cpu", "keras", "mlflow", "dvc", "bentoml", "pandas", "pyarrow")
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 2**20:.0f} GiB, {gpu}; "
        f"Python {platform.python_version()}, {versions}"
    )


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []

import sys

import pytest

from bench.measure import ROOT, memory_growth, per_row_ratio, project_env, run, run_module


def test_linear_cost_is_a_per_row_ratio_of_one():
    assert per_row_ratio((100_000, 2.0), (1_000_000, 20.0)) == pytest.approx(1.0)
    assert per_row_ratio((100_000, 2.0), (1_000_000, 25.0)) == pytest.approx(1.25)


def test_memory_growth_is_judged_against_the_budget():
    assert memory_growth(700.0, 850.0, 160.0) == (150.0, True)
    assert memory_growth(700.0, 900.0, 160.0) == (200.0, False)


def test_a_module_is_timed_with_its_own_peak_memory_whatever_its_parents_size(tmp_path):
    (tmp_path / "grow.py").write_text("b = bytearray(300 * 2**20)\nb[::4096] = b'x' * len(b[::4096])\n")
    (tmp_path / "idle.py").write_text("")
    env = project_env(PYTHONPATH=f"{ROOT}:{tmp_path}")
    big = run_module(["grow"], tmp_path, tmp_path / "log", env)
    small = run_module(["idle"], tmp_path, tmp_path / "log", env)  # this test's process may be large
    assert big.peak_rss_mb > 300 > 100 > small.peak_rss_mb
    with pytest.raises(RuntimeError, match="exited 3"):
        run([sys.executable, "-c", "raise SystemExit(3)"], tmp_path, tmp_path / "log")

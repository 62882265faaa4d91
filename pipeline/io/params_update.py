"""Writing chosen values into params.yaml in place: its comments, order and layout stay as they are.

`make tune` writes its best configuration here so that `dvc repro` retrains exactly it (DVC sees the
changed params and reruns train and what follows). The file is read and written with ruamel.yaml's
round trip (DVC's own YAML library), and replaced atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq

from pipeline.core.errors import ParamsError
from pipeline.io.files import write_text


def set_values(changes: Mapping[str, Any], path: str | Path = "params.yaml") -> None:
    """Set each dotted key (`train.learning_rate`) to its value; every key must already exist."""
    import io

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    path = Path(path)
    document = yaml.load(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        section = document
        for key in parents:
            section = section.get(key) if hasattr(section, "get") else None
        if section is None or leaf not in section:
            raise ParamsError(f"{path} has no {dotted!r} to set. Fix: restore the key in {path}.")
        if isinstance(value, list):
            flow = CommentedSeq(value)
            flow.fa.set_flow_style()  # [64, 32] as params.yaml writes lists
            value = flow
        section[leaf] = value
    out = io.StringIO()
    yaml.dump(document, out)
    write_text(path, out.getvalue())

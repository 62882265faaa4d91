"""Reading params.yaml into the validated configuration."""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.core.config import Params, parse_params
from pipeline.core.errors import ParamsError


def load_params(path: str | Path = "params.yaml") -> Params:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{path} not found. Fix: run from the repository root.") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path} is not valid YAML: {exc}") from None
    return parse_params(raw, source=str(path))

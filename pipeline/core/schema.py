"""What prepare learnt about the table, handed to every later stage.

Every column but the target is recorded with its kind (numeric, boolean, categorical, or
dropped) and the reason for it, and how many of its cells were missing; `schema.json` is
where a user reads why a column was or was not used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pipeline.core.contract import DROPPED
from pipeline.core.tasks import Task

Label = str | int | float | bool


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # numeric | boolean | categorical | dropped
    reason: str  # why prepare decided this kind
    missing: int = 0  # empty cells in the whole table
    distinct: int | None = None  # distinct values (None when not counted)


@dataclass(frozen=True)
class Schema:
    columns: list[Column]  # every column but the target, in table order
    target: str
    task: Task
    class_labels: list[Label]
    split_sizes: dict[str, int] = field(default_factory=dict)
    data_hash: str = ""
    task_reason: str = ""  # why prepare decided the task (data.task = auto)
    missing_policy: str = "impute"  # data.missing: impute | drop | refuse
    # Rows prepare left out, by reason: the target missing, or (missing: drop) a feature missing.
    dropped_rows: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """The columns the model takes, in table order."""
        return [c.name for c in self.columns if c.kind != DROPPED]

    @property
    def kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns if c.kind != DROPPED}

    @property
    def dropped(self) -> dict[str, str]:
        """Column -> why the model does not use it."""
        return {c.name: c.reason for c in self.columns if c.kind == DROPPED}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Schema:
        return cls(**{**raw, "columns": [Column(**c) for c in raw["columns"]]})

"""What prepare learnt about the table, handed to every later stage and to the service."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Label = str | int | float | bool


@dataclass(frozen=True)
class Schema:
    features: list[str]
    dtypes: dict[str, str]
    target: str
    task: str
    class_labels: list[Label]
    split_sizes: dict[str, int] = field(default_factory=dict)
    data_hash: str = ""
    task_reason: str = ""  # why prepare decided the task (data.task = auto)
    one_hot: dict[str, list[str]] = field(default_factory=dict)  # text column -> categories
    dropped: dict[str, str] = field(default_factory=dict)  # column -> why it is not a feature

    @property
    def n_features(self) -> int:
        return len(self.features)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Schema:
        return cls(**raw)

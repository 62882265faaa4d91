"""Which worker this process is, read from TF_CONFIG (tf.distribute's multi-worker contract).

Only the chief tracks, writes the stage's outputs and registers; the other workers train
their shard and write nothing the pipeline reads. Without TF_CONFIG a process is alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pipeline.core.errors import ConfigMismatchError

FIX = (
    'Fix: set TF_CONFIG to {"cluster": {"worker": ["host1:port", "host2:port"]}, '
    '"task": {"type": "worker", "index": 0}} with this worker\'s index.'
)


@dataclass(frozen=True)
class Cluster:
    workers: int = 1
    index: int = 0  # this worker's place among `workers`: its shard of the data
    chief: bool = True

    @property
    def role(self) -> str:
        return "chief" if self.chief else f"worker {self.index}"


SOLO = Cluster()


def parse_tf_config(raw: str | None) -> Cluster:
    """TF_CONFIG's cluster and task. A `chief` task, when the cluster names one, is the chief
    and reads shard 0; otherwise worker 0 is. Anything malformed is refused with the fix."""
    if not raw:
        return SOLO
    try:
        config = json.loads(raw)
        cluster, task = config["cluster"], config["task"]
        kind, index = str(task["type"]), int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigMismatchError(f"TF_CONFIG = {raw!r} cannot be read ({exc!r}). {FIX}") from None
    chiefs = list(cluster.get("chief", []))
    workers = list(cluster.get("worker", []))
    order = [("chief", i) for i in range(len(chiefs))] + [("worker", i) for i in range(len(workers))]
    if (kind, index) not in order:
        raise ConfigMismatchError(
            f"TF_CONFIG task {kind} {index} is not in its cluster ({len(chiefs)} chief, "
            f"{len(workers)} worker). {FIX}"
        )
    place = order.index((kind, index))
    return Cluster(workers=len(order), index=place, chief=place == 0)

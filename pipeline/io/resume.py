"""What a killed training leaves for the next one: Keras' backup, the epochs so far, the run id.

`dvc repro` deletes a stage's outputs before it runs, so this lives under the persisted
`models/checkpoints` folder, in a subfolder named by the configuration's fingerprint: a run
with other params or data starts afresh instead of resuming weights that belong elsewhere.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from pipeline.io import paths
from pipeline.io.files import read_json, write_json

KERAS_METADATA = "training_metadata.json"  # written by keras.callbacks.BackupAndRestore
BACKUP_WEIGHTS = "latest.bin"  # beside it, the weights and optimizer state (ml/callbacks.FastBackup)


class ResumeState:
    def __init__(self, fingerprint: str, root: Path = paths.CHECKPOINT_DIR) -> None:
        self.folder = root / f"resume-{fingerprint}"
        self.backup_dir = self.folder / "keras"  # BackupAndRestore's; it deletes it on success
        self._epochs = self.folder / "epochs.jsonl"
        self._run = self.folder / "run.json"
        for other in root.glob("resume-*"):  # another configuration's leftovers never resume
            if other != self.folder:
                shutil.rmtree(other, ignore_errors=True)

    def epochs_done(self) -> int:
        """The last epoch Keras' backup holds (0: nothing to resume). An epoch count without
        the weights beside it (a backup in an older format) is nothing to resume either: the
        epochs after it would start from fresh weights."""
        metadata = self.backup_dir / KERAS_METADATA
        whole = metadata.is_file() and (self.backup_dir / BACKUP_WEIGHTS).is_file()
        return int(read_json(metadata)["epoch"]) if whole else 0

    def start(self) -> tuple[int, list[dict[str, float]]]:
        """(epochs done, their logged rows) to resume from; (0, []) for a fresh start.

        A row logged after the backup's last epoch is dropped: that epoch is trained again,
        so the history gets it once.
        """
        done = self.epochs_done()
        if not done:
            shutil.rmtree(self.folder, ignore_errors=True)
            return 0, []
        kept = [row for row in self.rows() if row["epoch"] <= done]
        self._epochs.write_text("".join(json.dumps(row) + "\n" for row in kept))
        return done, kept

    def rows(self) -> list[dict[str, float]]:
        """Every epoch logged so far, this run's and the resumed one's."""
        if not self._epochs.is_file():
            return []
        return [json.loads(line) for line in self._epochs.read_text().splitlines() if line.strip()]

    def append(self, epoch: int, logs: Mapping[str, float]) -> None:
        """One epoch's logs, flushed before the backup marks the epoch done."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self._epochs, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"epoch": epoch, **{k: float(v) for k, v in logs.items()}}) + "\n")

    def run_id(self) -> str | None:
        """The MLflow run a resumed training continues."""
        return read_json(self._run)["run_id"] if self._run.is_file() else None

    def save_run_id(self, run_id: str) -> None:
        write_json(self._run, {"run_id": run_id})

    def discard(self) -> None:
        """Training finished (or failed for good): nothing left to resume."""
        shutil.rmtree(self.folder, ignore_errors=True)

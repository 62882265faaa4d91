"""What a killed training leaves for the next one: its newest epoch's backup, the epochs so far, the run id.

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


def backup_path(backup_dir: Path, epoch: int) -> Path:
    """Where ml/callbacks.FastBackup keeps the weights and optimizer state after `epoch` epochs:
    one file, so the epoch count and the weights it counts can never disagree."""
    return backup_dir / f"epoch-{epoch}.bin"


def backups(backup_dir: Path) -> list[tuple[int, Path]]:
    """The backups in `backup_dir` as (epochs done, file), newest first.

    Each one is whole: it is written under another name and renamed into place, and the older
    one is deleted only after the newer one is in place, so a kill at any moment leaves one to
    resume from. (Keras' own BackupAndRestore keeps the weights and the epoch in two files and
    rewrites both in place; a kill between them left a state that resumed nothing.)
    """
    found = []
    for path in backup_dir.glob("epoch-*.bin"):
        epoch = path.stem.removeprefix("epoch-")
        if epoch.isdigit():
            found.append((int(epoch), path))
    return sorted(found, reverse=True)


class ResumeState:
    def __init__(self, fingerprint: str, root: Path = paths.CHECKPOINT_DIR) -> None:
        self.folder = root / f"resume-{fingerprint}"
        self.backup_dir = self.folder / "keras"  # FastBackup's; it deletes it on success
        self._epochs = self.folder / "epochs.jsonl"
        self._run = self.folder / "run.json"
        for other in root.glob("resume-*"):  # another configuration's leftovers never resume
            if other != self.folder:
                shutil.rmtree(other, ignore_errors=True)

    def epochs_done(self) -> int:
        """The epochs the newest backup holds (0: nothing to resume). A backup in an older
        format is nothing to resume: the files it left are not `backups`."""
        found = backups(self.backup_dir)
        return found[0][0] if found else 0

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

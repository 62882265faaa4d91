"""pipeline/io/resume.py: what a killed training leaves, and what the next one resumes from."""

from __future__ import annotations

import json

from pipeline.io.resume import ResumeState, backup_path, backups


def backup_at(state: ResumeState, epoch: int) -> None:
    """What ml/callbacks.FastBackup leaves after `epoch` epochs: one file of weights."""
    state.backup_dir.mkdir(parents=True, exist_ok=True)
    backup_path(state.backup_dir, epoch).write_bytes(b"\0" * 8)


def test_backups_are_the_epoch_files_newest_first(tmp_path):
    for name in ("epoch-2.bin", "epoch-10.bin", "writing-epoch-11.bin", "epoch-x.bin", "epoch-3.tmp"):
        (tmp_path / name).write_bytes(b"")
    assert backups(tmp_path) == [(10, tmp_path / "epoch-10.bin"), (2, tmp_path / "epoch-2.bin")]
    assert backups(tmp_path / "absent") == []


def test_a_fresh_start_has_nothing_to_resume(tmp_path):
    state = ResumeState("abc", root=tmp_path)
    assert state.folder == tmp_path / "resume-abc"
    assert (state.epochs_done(), state.start(), state.rows(), state.run_id()) == (0, (0, []), [], None)


def test_epochs_and_the_run_id_are_kept_for_the_next_start(tmp_path):
    state = ResumeState("abc", root=tmp_path)
    state.save_run_id("run-1")
    state.append(1, {"loss": 0.9, "val_loss": 1.0})
    state.append(2, {"loss": 0.7, "val_loss": 0.8})
    backup_at(state, 2)

    again = ResumeState("abc", root=tmp_path)
    assert again.run_id() == "run-1"
    assert again.start() == (
        2,
        [{"epoch": 1, "loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "loss": 0.7, "val_loss": 0.8}],
    )


def test_an_epoch_logged_after_the_last_backup_is_dropped_and_trained_again(tmp_path):
    state = ResumeState("abc", root=tmp_path)
    for epoch in (1, 2, 3):
        state.append(epoch, {"loss": 1.0 / epoch})
    backup_at(state, 2)  # killed after logging epoch 3, before its backup
    assert state.start() == (2, [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}])
    assert [row["epoch"] for row in state.rows()] == [1, 2]
    state.append(3, {"loss": 0.25})
    assert [row["epoch"] for row in state.rows()] == [1, 2, 3]


def test_a_backup_in_an_older_format_starts_afresh(tmp_path):
    """Keras' metadata beside weights (`latest.bin`, `latest.npz`): the epoch count and the
    weights were two files, and resuming them is not worth the risk of a mismatched pair."""
    state = ResumeState("abc", root=tmp_path)
    state.append(1, {"loss": 1.0})
    state.backup_dir.mkdir(parents=True)
    (state.backup_dir / "training_metadata.json").write_text(json.dumps({"epoch": 1, "batch": -1}))
    (state.backup_dir / "latest.bin").write_bytes(b"\0" * 8)
    assert state.epochs_done() == 0
    assert state.start() == (0, [])
    assert not state.folder.exists()


def test_logs_without_a_backup_start_afresh(tmp_path):
    state = ResumeState("abc", root=tmp_path)
    state.append(1, {"loss": 1.0})
    state.save_run_id("run-1")
    assert state.start() == (0, [])
    assert not state.folder.exists()
    assert state.run_id() is None


def test_another_configurations_leftovers_never_resume(tmp_path):
    old = ResumeState("old", root=tmp_path)
    old.append(1, {"loss": 1.0})
    backup_at(old, 1)
    new = ResumeState("new", root=tmp_path)
    assert not old.folder.exists()
    assert new.start() == (0, [])


def test_discard_leaves_nothing(tmp_path):
    state = ResumeState("abc", root=tmp_path)
    state.append(1, {"loss": 1.0})
    backup_at(state, 1)
    state.discard()
    assert list(tmp_path.iterdir()) == []
    state.discard()  # twice is fine: a failed run may discard after a finished one did


def test_logs_are_written_as_plain_floats(tmp_path):
    import numpy as np

    state = ResumeState("abc", root=tmp_path)
    state.append(1, {"loss": np.float32(0.5), "learning_rate": np.float64(0.001)})
    line = (state.folder / "epochs.jsonl").read_text()
    assert json.loads(line) == {"epoch": 1, "loss": 0.5, "learning_rate": 0.001}

import numpy as np
import pytest

from pipeline.io.files import atomic_path, read_json, write_json


def test_write_json_round_trips(tmp_path):
    target = tmp_path / "deep/dir/report.json"
    write_json(target, {"a": 1, "b": [1.5, "x"]})
    assert read_json(target) == {"a": 1, "b": [1.5, "x"]}


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.name.endswith(".model.keras")  # suffix kept for format detection
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_numpy_values_are_written_as_plain_json(tmp_path):
    write_json(tmp_path / "m.json", {"x": np.float32(0.5), "y": np.arange(2)})
    assert read_json(tmp_path / "m.json") == {"x": 0.5, "y": [0, 1]}

"""core/cluster.py: which worker this process is, from TF_CONFIG."""

import json

import pytest

from pipeline.core.cluster import SOLO, Cluster, parse_tf_config
from pipeline.core.errors import ConfigMismatchError

WORKERS = {"worker": ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]}


def config(cluster, kind, index) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": kind, "index": index}})


def test_without_tf_config_a_process_is_alone_and_the_chief():
    assert parse_tf_config(None) == SOLO == Cluster(1, 0, True)
    assert parse_tf_config("") is SOLO and SOLO.role == "chief"


def test_worker_zero_is_the_chief_unless_the_cluster_names_one():
    assert parse_tf_config(config(WORKERS, "worker", 0)) == Cluster(3, 0, True)
    second = parse_tf_config(config(WORKERS, "worker", 2))
    assert second == Cluster(3, 2, False) and second.role == "worker 2"
    with_chief = {"chief": ["127.0.0.1:9"], **WORKERS}
    assert parse_tf_config(config(with_chief, "chief", 0)) == Cluster(4, 0, True)
    assert parse_tf_config(config(with_chief, "worker", 0)) == Cluster(4, 1, False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "TF_CONFIG = 'not json' cannot be read"),
        ('{"cluster": {}}', "cannot be read"),
        (
            config(WORKERS, "worker", 3),
            "TF_CONFIG task worker 3 is not in its cluster \\(0 chief, 3 worker\\)",
        ),
    ],
)
def test_a_malformed_tf_config_is_refused_with_the_fix(raw, message):
    with pytest.raises(ConfigMismatchError, match=message) as error:
        parse_tf_config(raw)
    assert "Fix: set TF_CONFIG" in str(error.value)

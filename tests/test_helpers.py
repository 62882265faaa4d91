"""The shared test helpers."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import free_port, set_dotted


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 0 < port < 65536


def test_set_dotted_edits_nested_sections_in_place():
    params = {"train": {"epochs": 5, "early_stopping": {"patience": 3}}, "base": {"seed": 0}}
    edited = set_dotted(params, {"train.epochs": 40, "train.early_stopping.patience": 9, "base.seed": 1})
    assert edited is params
    assert params == {"train": {"epochs": 40, "early_stopping": {"patience": 9}}, "base": {"seed": 1}}


def test_set_dotted_refuses_a_section_that_does_not_exist():
    with pytest.raises(KeyError, match="trian"):
        set_dotted({"train": {}}, {"trian.epochs": 1})

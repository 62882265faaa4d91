import numpy as np
import pytest

from pipeline.core.postprocess import predict_labels, probabilities, sigmoid, softmax


def test_sigmoid_exact_values_and_no_overflow():
    out = sigmoid(np.array([0.0, np.log(3.0), -np.log(3.0), 800.0, -800.0]))
    assert out.tolist() == pytest.approx([0.5, 0.75, 0.25, 1.0, 0.0])
    assert np.isfinite(out).all()


def test_softmax_rows_sum_to_one_and_are_shift_invariant():
    z = np.array([[0.0, np.log(3.0)], [1000.0, 1000.0 + np.log(3.0)]])
    np.testing.assert_allclose(softmax(z), [[0.25, 0.75], [0.25, 0.75]])


def test_binary_probabilities_have_a_column_per_class():
    probs = probabilities(np.array([[0.0], [np.log(3.0)]]), "binary")
    np.testing.assert_allclose(probs, [[0.5, 0.5], [0.25, 0.75]])


def test_threshold_decides_the_positive_class():
    probs = np.array([[0.7, 0.3], [0.4, 0.6], [0.1, 0.9]])
    labels = ["benign", "malignant"]
    assert predict_labels(probs, labels, 0.5) == ["benign", "malignant", "malignant"]
    assert predict_labels(probs, labels, 0.0) == ["malignant"] * 3
    assert predict_labels(probs, labels, 1.0) == ["benign"] * 3
    assert predict_labels(probs, labels, 0.6) == ["benign", "malignant", "malignant"]
    assert predict_labels(probs, labels, 0.61) == ["benign", "benign", "malignant"]


def test_multiclass_takes_the_most_probable_class():
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    assert predict_labels(probs, ["a", "b", "c"], 0.9) == ["b", "a"]


def test_answers_per_task():
    from pipeline.core.postprocess import answers

    binary = answers(np.array([[0.0], [10.0]]), "binary", ["no", "yes"], 0.6)
    assert [a["label"] for a in binary] == ["no", "yes"]
    assert binary[0]["probabilities"] == {"no": 0.5, "yes": 0.5}
    multi = answers(np.array([[0.0, 0.0, np.log(2.0)]]), "multiclass", [3, 5, 7], None)
    assert multi == [{"label": 7, "probabilities": {"3": 0.25, "5": 0.25, "7": 0.5}}]
    assert answers(np.array([[1.5], [-2.0]]), "regression", [], None) == [{"value": 1.5}, {"value": -2.0}]

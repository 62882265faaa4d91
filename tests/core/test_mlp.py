"""pipeline/core/mlp.py: the activations' exact values, and SciPy loaded only for gelu."""

import math
import subprocess
import sys

import numpy as np

from pipeline.core.mlp import ACTIVATIONS
from tests.conftest import ROOT


def test_gelu_is_x_times_the_normal_cdf():
    x = np.array([-1.0, 0.0, 1.0, 2.0])
    expected = [v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x]
    np.testing.assert_allclose(ACTIVATIONS["gelu"](x), expected, rtol=1e-15)
    assert ACTIVATIONS["gelu"](np.array([1.0]))[0] == 0.8413447460685429


def test_scoring_a_relu_model_never_imports_scipy():
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from pipeline.core.mlp import ACTIVATIONS\n"
        "print(ACTIVATIONS['relu'](np.array([-1.0, 2.0])).tolist(), 'scipy' in sys.modules)\n"
        "ACTIVATIONS['gelu'](np.array([0.0]))\n"
        "print('scipy.special' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[:2] == ["[0.0, 2.0] False", "True"]

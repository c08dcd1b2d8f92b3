"""lab05.constants: the provided stable sigmoid, and sizes shown in binary units."""

from __future__ import annotations

import numpy as np

from lab05 import constants


def test_stable_sigmoid_is_finite_and_warning_free_at_the_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = constants.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    assert values.tolist() == [0.0, 0.5, 1.0], values
    assert isinstance(constants.sigmoid(0), float)


def test_fmt_bytes_uses_binary_units():
    assert constants.fmt_bytes(437_544) == "427.29 KiB"
    assert constants.fmt_bytes(8 * constants.BYTES_PER_GIB) == "8.00 GiB"
    assert constants.fmt_bytes(512) == "512 B"

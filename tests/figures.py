"""What the display tests share: the reference's functions stand in for the student's.

Figure functions are called through ``fn.__wrapped__`` (bypassing ``display_guard``) so that real
errors surface; the guard itself is tested in test_displays.py. The compute functions behind the
displays (``memory_ledger``, ``width_challenge`` ...) are checked number by number against the
reference, and their draw functions on results built by hand, with no student function anywhere.
"""

import matplotlib
import matplotlib.figure
import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Wedge

#: Matplotlib or NumPy complaining means a figure students see is not clean (each display test
#: module sets ``pytestmark = CLEAN_FIGURES``).
CLEAN_FIGURES = [
    pytest.mark.filterwarnings("error::UserWarning"),
    pytest.mark.filterwarnings("error::RuntimeWarning"),
]

MICRO, LAPTOP, MOBILE, H100 = "Microcontroller", "Laptop GPU", "Mobile GPU", "H100"


class Recorder:
    """Stands in for every student function a display needs, and records being called."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args, **kwargs):
        self.calls.append(args)
        raise AssertionError("a display called student code while the autograder runs")


def check_figure(fig, tmp_path, name):
    """The figure renders to a non-empty PNG and every non-pie axis has both labels."""
    assert fig is not None, f"{name}: expected a Figure, got None"
    assert isinstance(fig, matplotlib.figure.Figure), f"{name}: expected a Figure, got {type(fig)}"
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.stat().st_size > 0, f"{name}: expected a non-empty PNG, got {path.stat().st_size} bytes"
    for ax in fig.axes:
        if any(isinstance(p, Wedge) for p in ax.patches):
            assert ax.get_title(), f"{name}: expected a title on every pie, got none"
            continue
        where = f"{name}, axes titled {ax.get_title()!r}"
        assert ax.get_xlabel().strip(), f"{where}: expected an x label, got {ax.get_xlabel()!r}"
        assert ax.get_ylabel().strip(), f"{where}: expected a y label, got {ax.get_ylabel()!r}"
    assert not plt.fignum_exists(fig.number), (
        f"{name}: expected the returned figure detached from pyplot (shown once in Jupyter), "
        "got a figure still open in pyplot"
    )


def line_labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def line_by_label(ax, label):
    for line in ax.get_lines():
        if line.get_label() == label:
            return line
    raise AssertionError(f"expected a line labelled {label!r}, got {line_labels(ax)}")


def all_texts(fig):
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    texts += [ax.get_title() for ax in fig.axes] + [fig.get_suptitle()]
    return texts

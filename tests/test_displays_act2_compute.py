"""lab05.displays.act2_compute: which layer does the work, and a training step's FLOPs.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import re

import lab05_reference as ref
import pytest
from figures import CLEAN_FIGURES, Recorder, check_figure, line_by_label

from lab05 import constants, displays
from lab05.constants import MNIST_BATCH_SIZE, MNIST_LAYER_SIZES
from lab05.displays import act2_compute, common

pytestmark = CLEAN_FIGURES


def test_layer_share_figure(tmp_path, capsys):
    fig = displays.layer_share_figure.__wrapped__(ref.layer_macs)
    check_figure(fig, tmp_path, "layer_share_figure")
    out = capsys.readouterr().out
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "W = 128",
        "W = 1,024",
        "W = 4,096",
        "W = 32,768",
    ], f"expected one titled pie per width, got {titles}"
    assert re.search(r"W =\s+128: layer 1 does 91\.9%", out), f"input: W = 128; expected 91.9% printed, got {out!r}"
    assert re.search(r"W =\s+4,096: layer 1 does 27\.6%", out), f"input: W = 4096; expected 27.6% printed, got {out!r}"
    wedge_texts = [t.get_text() for t in fig.axes[0].texts]
    assert "layer 1" in wedge_texts and "91.9%" in wedge_texts, (
        f"input: W = 128; expected labelled wedges, got {wedge_texts}"
    )


def test_compute_waterfall_figure(tmp_path, capsys):
    fig = displays.compute_waterfall_figure.__wrapped__(
        ref.layer_macs, ref.parameter_count, MNIST_LAYER_SIZES, MNIST_BATCH_SIZE
    )
    check_figure(fig, tmp_path, "compute_waterfall_figure")
    out = capsys.readouterr().out
    # FACTS.md, the Act 2 table and item 6: what a framework computes, and what the rule of thumb counts.
    facts = {
        "forward": "6,987,776 FLOPs",
        "backward": "7,553,024 FLOPs  = 1.08x forward",
        "input gradients": "565,248 FLOPs",
        "update": "1,093,860 FLOPs",
        "total": "15,634,660 FLOPs  = 2.24x forward",
        "skipped": "layer 1's input gradient (6,422,528 FLOPs)",
        "rule": "a backward pass of 13,975,552 FLOPs (2.00x) and a step of 3.16x",
        "W = 128": "W =    128: layer 1 does 91.9% of the MACs; backward 1.08x forward",
        "W = 4096": "W =  4,096: layer 1 does 27.6% of the MACs; backward 1.72x forward, forward + backward 2.72x",
    }
    for what, text in facts.items():
        assert text in out, f"input: MNIST, batch 32; expected the {what} printed as {text!r}, got {out!r}"
    waterfall, widened = fig.axes
    notes = " ".join(t.get_text() for t in waterfall.texts)
    for multiple in ("1.00x", "1.00x forward\n6,987,776", "0.08x", "2.24x"):
        assert multiple in notes, f"input: MNIST; expected the bar note {multiple!r}, got {notes!r}"
    filled = [p for p in waterfall.patches if p.get_fill()]
    heights = [p.get_height() for p in filled]
    assert heights[-1] == pytest.approx(sum(heights[:-1])), f"expected the total bar to be the sum, got {heights}"
    ghosts = [p for p in waterfall.patches if not p.get_fill()]
    assert [g.get_height() for g in ghosts] == [6_422_528], f"expected one outline of the skipped product, got {ghosts}"
    assert ghosts[0].get_y() + ghosts[0].get_height() == 3 * 6_987_776, (
        "expected the skipped product to reach the rule of thumb's 3x forward"
    )
    backward = line_by_label(widened, "backward / forward")
    ratios = backward.get_ydata()
    assert all(a < b for a, b in zip(ratios, ratios[1:])) and ratios[-1] < 2, (
        f"expected backward / forward to climb towards 2x as W grows, got {ratios}"
    )


def test_the_backward_pass_skips_the_first_layers_input_gradient():
    got = act2_compute.backward_pass_flops(ref.layer_macs(MNIST_LAYER_SIZES), MNIST_BATCH_SIZE)
    expected = (6_987_776, 565_248, 6_422_528)
    assert tuple(got) == expected, f"input: MNIST MACs, batch 32; expected {expected}, got {tuple(got)}"
    assert got.total == 7_553_024, (
        f"input: MNIST, batch 32; expected 7,553,024 FLOPs (PyTorch's count), got {got.total:,}"
    )
    assert got.chapter_rule == 2 * 6_987_776, f"expected the rule of thumb's 2x forward, got {got.chapter_rule:,}"
    one_layer = act2_compute.backward_pass_flops([6], 1)
    assert tuple(one_layer) == (12, 0, 12), f"input: [6], batch 1; expected (12, 0, 12), got {tuple(one_layer)}"


@pytest.mark.parametrize("width", [64, 128, 4096, 65536])
def test_the_backward_multiple_is_two_minus_the_first_layers_share(width):
    sizes = constants.challenge_layer_sizes(width)
    step = act2_compute.training_step_flops(ref.layer_macs, ref.parameter_count, sizes, 32)
    macs = ref.layer_macs(sizes)
    expected = 2 - macs[0] / sum(macs)
    assert step.backward_ratio == pytest.approx(expected), (
        f"input: W = {width}; expected backward / forward = 2 - layer 1's share = {expected:.4f}, "
        f"got {step.backward_ratio:.4f}"
    )


@pytest.mark.parametrize("macs, batch_size", [([], 1), ([6], 0)])
def test_backward_pass_flops_rejects_what_is_not_a_network(macs, batch_size):
    with pytest.raises(ValueError):
        act2_compute.backward_pass_flops(macs, batch_size)


def test_layer_shares_are_the_students_macs():
    shares = act2_compute.layer_shares(ref.layer_macs, widths=(128, 4096))
    assert [s.width for s in shares] == [128, 4096], f"got {[s.width for s in shares]}"
    for share in shares:
        macs = ref.layer_macs(constants.challenge_layer_sizes(share.width))
        assert share.macs == tuple(macs), f"input: W = {share.width}; expected {macs}, got {share.macs}"
        assert sum(share.shares) == pytest.approx(1.0), f"input: W = {share.width}; got shares {share.shares}"
    assert round(shares[0].shares[0], 3) == 0.919, f"input: W = 128; expected layer 1 at 91.9%, got {shares[0].shares}"


@pytest.mark.parametrize("widths, accepted", [((), "at least one"), ((128, 1), ">= 2")])
def test_layer_shares_checks_the_widths_before_calling_the_student(widths, accepted):
    student = Recorder()
    with pytest.raises(ValueError, match=accepted):
        act2_compute.layer_shares(student, widths)
    assert student.calls == [], f"input: widths {widths}; expected no call of layer_macs, got {student.calls}"


@pytest.mark.parametrize("layer_sizes, batch_size", [(MNIST_LAYER_SIZES, MNIST_BATCH_SIZE), ([784, 10], 1)])
def test_training_step_flops_are_the_students(layer_sizes, batch_size):
    flops = act2_compute.training_step_flops(ref.layer_macs, ref.parameter_count, layer_sizes, batch_size)
    macs = ref.layer_macs(layer_sizes)
    forward = common.FLOPS_PER_MAC * sum(macs) * batch_size
    backward = forward + common.FLOPS_PER_MAC * sum(macs[1:]) * batch_size
    update = common.ADAM_FLOPS_PER_PARAM * ref.parameter_count(layer_sizes)
    where = f"input: {layer_sizes}, batch {batch_size}"
    got = (flops.forward, flops.backward.total, flops.update)
    assert got == (forward, backward, update), f"{where}; expected {(forward, backward, update)}, got {got}"
    assert flops.total == forward + backward + update, f"{where}; got total {flops.total}"


def test_training_step_cost_widens_the_challenge_network():
    cost = act2_compute.training_step_cost(ref.layer_macs, ref.parameter_count, MNIST_LAYER_SIZES, 32)
    assert set(common.BACKWARD_WIDTHS_PRINTED) <= set(cost.widths.tolist()), f"got widths {cost.widths}"
    at_4096 = cost.at_width(4096)
    assert at_4096.layer_sizes == tuple(constants.challenge_layer_sizes(4096)), f"got {at_4096.layer_sizes}"
    assert round(at_4096.first_layer_share, 3) == 0.276 and round(at_4096.backward_ratio, 2) == 1.72, (
        f"input: W = 4096; expected layer 1 at 27.6% and backward 1.72x (FACTS item 6), got "
        f"{at_4096.first_layer_share:.3f}, {at_4096.backward_ratio:.3f}"
    )

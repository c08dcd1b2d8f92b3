"""lab05.displays.act1_tax: the options, the activation comparator, the GELU estimate and the reveal.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import lab05_reference as ref
import matplotlib.pyplot as plt
import pytest
from figures import CLEAN_FIGURES, check_figure

from lab05 import constants, displays
from lab05.constants import ACTIVATION_TRANSISTORS
from lab05.displays import act1_tax

pytestmark = CLEAN_FIGURES


def test_show_options_prints_every_letter(capsys):
    displays.show_options(constants.ACT1_PREDICTION_OPTIONS)
    out = capsys.readouterr().out
    for letter, (label, _) in constants.ACT1_PREDICTION_OPTIONS.items():
        assert f'"{letter}"' in out and label in out, f"input: option {letter}; expected {label!r} printed, got {out!r}"


def test_show_source_prints_the_sigmoid(capsys):
    displays.show_source(constants.sigmoid)
    out = capsys.readouterr().out
    assert "def sigmoid" in out, f"input: constants.sigmoid; expected its source, got {out[:200]!r}"


def test_activation_comparator(tmp_path, capsys):
    fig = displays.activation_comparator.__wrapped__("c", ACTIVATION_TRANSISTORS)
    check_figure(fig, tmp_path, "activation_comparator")
    out = capsys.readouterr().out
    assert "You predicted C (about 20x)." in out, f"input: 'c'; expected the prediction echoed, got {out!r}"
    assert "estimate (not in the chapter)" in out, f"input: 'c'; expected GELU's source printed, got {out!r}"
    assert "10-40% of units can die" in out, f"input: 'c'; expected ReLU's dying-unit risk printed, got {out!r}"
    assert "= 3,000 transistors" in out, f"input: 'c'; expected GELU's estimate worked out, got {out!r}"
    assert len(fig.axes) == 10, f"input: 'c'; expected 2 cost panels + 4 curves + 4 derivatives, got {len(fig.axes)}"
    cost = fig.axes[0]
    assert cost.get_yscale() == "log", f"input: transistors panel; expected a log y axis, got {cost.get_yscale()}"
    ticks = [t.get_text() for t in cost.get_xticklabels()]
    assert any("GELU" in t and "estimate" in t for t in ticks), f"expected GELU labelled as an estimate, got {ticks}"
    hatches = [p.get_hatch() for p in cost.patches]
    assert hatches.count("//") == 1, f"expected exactly the GELU bar hatched, got hatches {hatches}"
    heights = sorted(p.get_height() for p in cost.patches)
    assert heights == sorted(ACTIVATION_TRANSISTORS.values()), (
        f"expected bar heights {sorted(ACTIVATION_TRANSISTORS.values())}, got {heights}"
    )


@pytest.mark.parametrize("prediction", [None, Ellipsis, "E", "", 3])
def test_act1_instruments_locked_without_a_prediction(prediction, capsys):
    fig = displays.activation_comparator.__wrapped__(prediction, ACTIVATION_TRANSISTORS)
    reveal = displays.act1_reveal.__wrapped__(prediction, ref.transistor_tax, ref.extra_transistors)
    out = capsys.readouterr().out
    assert fig is None and reveal is None, f"input: {prediction!r}; expected None twice, got {fig!r}, {reveal!r}"
    assert out.count("`act1_prediction`") == 2, f"input: {prediction!r}; expected two locked messages, got {out!r}"
    assert plt.get_fignums() == [], f"input: {prediction!r}; expected no figure, got {plt.get_fignums()}"


def test_act1_reveal_off_by(capsys):
    result = displays.act1_reveal.__wrapped__("C", ref.transistor_tax, ref.extra_transistors)
    out = capsys.readouterr().out
    assert isinstance(result, dict), f"input: 'C'; expected a dict, got {type(result)}"
    assert result["ratio"] == 50, f"input: 'C'; expected ratio 50, got {result['ratio']}"
    assert result["off_by"] == pytest.approx(2.5), f"input: 'C'; expected off by 2.5, got {result['off_by']}"
    assert "off by 2.5x (too low)" in out, f"input: 'C'; expected 'off by 2.5x (too low)', got {out!r}"
    assert "24,500,000" in out, f"input: 'C'; expected 24,500,000 extra transistors, got {out!r}"
    assert "2,450" in out, f"input: 'C'; expected 2,450 extra per unit, got {out!r}"
    assert result["extra_transistors"] == 24_500_000, f"expected 24,500,000, got {result['extra_transistors']}"


@pytest.mark.parametrize("letter, off_by, phrase", [("A", 50 / 1.5, "too low"), ("D", 1.0, "spot on")])
def test_act1_reveal_other_letters(letter, off_by, phrase, capsys):
    result = displays.act1_reveal.__wrapped__(letter, ref.transistor_tax, ref.extra_transistors)
    out = capsys.readouterr().out
    assert result["off_by"] == pytest.approx(off_by), f"input: {letter!r}; expected {off_by}, got {result['off_by']}"
    assert phrase in out, f"input: {letter!r}; expected {phrase!r} in the output, got {out!r}"


def test_activation_comparison_lists_the_table_and_every_curve():
    comparison = act1_tax.activation_comparison(" c", ACTIVATION_TRANSISTORS)
    assert (comparison.letter, comparison.label) == ("C", "about 20x"), f"input: ' c'; got {comparison.letter!r}"
    assert comparison.transistors == tuple(ACTIVATION_TRANSISTORS[n] for n in comparison.names), (
        f"expected the table's transistors in the order of the names {comparison.names}, got {comparison.transistors}"
    )
    assert comparison.estimates == {"gelu"}, f"expected only GELU marked as an estimate, got {comparison.estimates}"
    assert comparison.relu_transistors == ACTIVATION_TRANSISTORS["relu"], f"got {comparison.relu_transistors}"
    peaks = {curve.name: curve.peak for curve in comparison.curves}
    assert peaks["sigmoid"] == pytest.approx(0.25, abs=1e-3) and peaks["relu"] == pytest.approx(1.0), (
        f"expected the largest slopes 1/4 (sigmoid) and 1 (ReLU), got {peaks}"
    )
    sigmoid = next(curve for curve in comparison.curves if curve.name == "sigmoid")
    assert sigmoid.ys == pytest.approx(constants.sigmoid(sigmoid.xs)), "expected the provided sigmoid's values"


def test_gelu_estimate_is_a_tanh_unit_plus_its_arithmetic(capsys):
    macs = len(constants.GELU_EXTRA_MACS)
    expected = ACTIVATION_TRANSISTORS["tanh"] + macs * constants.GELU_TRANSISTORS_PER_MAC
    assert ACTIVATION_TRANSISTORS["gelu"] == expected == 3_000, f"expected 2,500 + 5 x 100 = 3,000, got {expected}"
    cycles = constants.ACTIVATION_PROFILES["gelu"]["cycles"]
    assert cycles == (30, 50), f"expected tanh's 20-40 cycles + 5 x 2, got {cycles}"
    act1_tax.print_gelu_estimate()
    out = capsys.readouterr().out
    for text in ("2,500 + 5 x 100 = 3,000 transistors", "20-40 + 5 x 2 = 30-50 cycles", "this lab's reasoning"):
        assert text in out, f"expected {text!r} in GELU's reasoning, got {out!r}"


def test_transistor_tax_reveal_numbers_are_the_students():
    reveal = act1_tax.transistor_tax_reveal("a", ref.transistor_tax, ref.extra_transistors)
    assert reveal.ratio == ref.transistor_tax("sigmoid"), f"got ratio {reveal.ratio}"
    assert reveal.extra_transistors == ref.extra_transistors(1000, 10, "sigmoid"), f"got {reveal.extra_transistors}"
    assert (reveal.prediction, reveal.spot_on) == ("A", False), f"input: 'a'; got {reveal.prediction}, {reveal.spot_on}"
    assert reveal.verdict == f"your prediction was off by {reveal.off_by:.3g}x (too low).", f"got {reveal.verdict!r}"

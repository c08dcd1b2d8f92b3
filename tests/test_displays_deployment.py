"""lab05.displays.deployment: two deployment contexts, and the memory hierarchy.

The reference implementations stand in for the student's functions (see tests/figures.py)."""

import re

import lab05_reference as ref
import pytest
from figures import CLEAN_FIGURES, MICRO, MOBILE, check_figure

from lab05 import constants, displays
from lab05.constants import DEVICE_BUDGETS_BYTES, MNIST_BATCH_SIZE, MNIST_LAYER_SIZES
from lab05.displays import deployment

pytestmark = CLEAN_FIGURES


def test_deployment_table(capsys):
    rows = displays.deployment_table.__wrapped__(ref.training_memory, ref.inference_memory, MNIST_LAYER_SIZES)
    out = capsys.readouterr().out
    assert len(rows) == len(DEVICE_BUDGETS_BYTES) * len(constants.PRECISION_BYTES), f"expected 8 rows, got {len(rows)}"
    keys = {
        "device",
        "precision",
        "inference_bytes",
        "inference_fits",
        "training_bytes",
        "training_fits",
    }
    assert all(set(row) == keys for row in rows), f"expected keys {sorted(keys)}, got {[sorted(r) for r in rows][:1]}"
    table = {(r["device"], r["precision"]): r for r in rows}
    micro16, micro32 = table[(MICRO, "fp16")], table[(MICRO, "fp32")]
    assert micro16["inference_bytes"] == 220_744 and micro16["inference_fits"], f"FP16 micro inference: got {micro16}"
    assert micro16["training_bytes"] == 938_192 and not micro16["training_fits"], f"FP16 micro training: got {micro16}"
    assert micro32["inference_bytes"] == 441_488 and not micro32["inference_fits"], (
        f"FP32 micro inference: got {micro32}"
    )
    for precision in constants.PRECISION_BYTES:
        mobile = table[(MOBILE, precision)]
        assert mobile["inference_fits"] and mobile["training_fits"], (
            f"input: mobile GPU {precision}; expected both fit, got {mobile}"
        )
    assert "DOES NOT FIT" in out and "Microcontroller" in out, f"expected a printed table, got {out!r}"


def test_memory_hierarchy_summary(tmp_path, capsys):
    fig = displays.memory_hierarchy_summary.__wrapped__(ref.training_memory, MNIST_LAYER_SIZES, MNIST_BATCH_SIZE)
    check_figure(fig, tmp_path, "memory_hierarchy_summary")
    out = capsys.readouterr().out
    # FACTS.md, "Memory hierarchy": the tiers, and where each network lands.
    rows = {
        "L1": r"L1 data cache\s+64 KiB\s+about 1 ns",
        "L2": r"L2 cache\s+512 KiB - 2 MiB\s+3-5 ns",
        "L3": r"L3 cache\s+8 MiB - 64 MiB\s+10-20 ns",
        "DRAM": r"main memory \(DRAM\)\s+GiBs\s+about 100 ns",
        "activations": r"activations of 784 → 128 → 64 → 10, batch 32\s+123\.25 KiB\s+L2 cache",
        "training state": r"all of its training state \(batch 32\)\s+1\.79 MiB\s+L2 or L3 cache",
        "W = 4096": r"784 → 4096 → 2048 → 10\s+178\.25 MiB\s+main memory \(DRAM\)",
    }
    for what, row in rows.items():
        assert re.search(row, out), f"input: MNIST, batch 32; expected the {what} row {row!r}, got {out!r}"
    for text in ("1.93x a 64.00 KiB L1", "100x"):
        assert text in out, f"expected {text!r} printed, got {out!r}"


@pytest.mark.parametrize(
    "size, large, small",
    [
        (64 * 1024, "L1 data cache", "L1 data cache"),
        (64 * 1024 + 1, "L2 cache", "L2 cache"),
        (1_876_384, "L2 cache", "L3 cache"),
        (2 * 1024**2 + 1, "L3 cache", "L3 cache"),
        (20 * 1024**2, "L3 cache", "main memory (DRAM)"),
        (178 * 1024**2, "main memory (DRAM)", "main memory (DRAM)"),
    ],
)
def test_a_working_set_lands_in_the_fastest_tier_that_holds_it(size, large, small):
    got = tuple(t.name for t in deployment.landing_tiers(size))
    assert got == (large, small), (
        f"input: {size:,} B; expected {(large, small)} (large caches, small caches), got {got}"
    )


def test_memory_hierarchy_places_the_students_numbers():
    hierarchy = deployment.memory_hierarchy(ref.training_memory, MNIST_LAYER_SIZES, 32, widths=(4096,))
    memory = ref.training_memory(MNIST_LAYER_SIZES, 32)
    got = [w.size_bytes for w in hierarchy.working_sets]
    wide = ref.training_memory(constants.challenge_layer_sizes(4096), 32)["total"]
    expected = [memory["activations"], memory["weights"], memory["total"], wide]
    assert got == expected, f"input: MNIST, batch 32, W = 4096; expected {expected}, got {got}"
    assert hierarchy.training_state.where == "L2 or L3 cache", f"got {hierarchy.training_state.where!r}"
    assert hierarchy.latency_ratio == 100, f"expected the chapter's 100x gap, got {hierarchy.latency_ratio}"

"""Every limit of grading is written once (assignment/lab05_autograder/policy.py); what the README says of them agrees."""

from __future__ import annotations

import re

from lab05_autograder import policy

from tools.layout import ASSIGNMENT, ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
UNITS = {"GiB": policy.GiB, "MiB": policy.MiB, "s": 1}


def _value(text: str) -> float:
    number, _, unit = text.strip().partition(" ")
    return float(number.replace(",", "")) * UNITS.get(unit, 1)


def _limit_rows() -> list[tuple[str, list[str], list[str]]]:
    start = README.index("| limit | value | name in `policy.py` |")
    rows = []
    for line in README[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        what, values, names = (cell.strip() for cell in line.strip("|").split("|"))
        rows.append((what, [v for v in values.split(", ")], re.findall(r"`([A-Z_]+)`", names)))
    return rows


def test_the_readme_limits_table_states_the_policys_values():
    rows = _limit_rows()
    assert len(rows) >= 8, f"expected the README's table of limits; found {len(rows)} rows"
    for what, values, names in rows:
        assert len(values) == len(names), f"README row {what!r}: {len(values)} values for {len(names)} names"
        for text, name in zip(values, names):
            expected = getattr(policy, name, None)
            assert expected is not None, f"README row {what!r} names {name}, which the policy does not define"
            assert _value(text) == expected, f"README row {what!r}: says {text} for {name}; the policy has {expected}"


def test_no_other_module_states_a_limit_of_the_policy_again():
    """The sandbox, grade-one, the batch, the plugin and the probe read the limits; none retypes one."""
    patterns = {
        "KERNEL_MEMORY_BYTES": r"4 \* (1024\s*\*\*\s*3|GiB)",
        "PROBE_MEMORY_BYTES": r"2 \* (1024\s*\*\*\s*3|GiB)",
        "SANDBOX_TMP_BYTES": r"512 \* (1024\s*\*\*\s*2|MiB)",
        "KERNEL_FILE_BYTES": r"256 \* (1024\s*\*\*\s*2|MiB)",
        "FLAG_KERNEL_RESULTS_DIFFER": r"= \"kernel_results_differ\"",
    }
    modules = [
        *sorted((ROOT / "tools" / "grading" / "sandbox").glob("*.py")),
        *sorted((ROOT / "tools" / "grading").glob("*.py")),
        ROOT / "tools" / "grading" / "batch" / "coordinator.py",
        ROOT / "tools" / "grading" / "batch" / "row.py",
        *sorted(p for p in (ASSIGNMENT / "lab05_autograder").rglob("*.py") if p.name != "policy.py"),
    ]
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name, pattern in patterns.items()
        if re.search(pattern, path.read_text(encoding="utf-8"))
    ]
    assert not found, f"limits stated outside assignment/lab05_autograder/policy.py: {found}"

"""What the class got wrong (tools/grading/mistakes.py): the ids the hidden tests give, and the report made from them.

Three parts: the table of mistakes (README, ``MISTAKES``, the ids the hidden tests use); the
report's reader fed hostile ``results.json`` files (no grading); and one small generated class,
with mistakes planted from the mutation corpus, graded once through the batch (module fixture).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys

import lab05_reference as ref
import pytest
from conftest import possible_points
from lab05_autograder import hidden

from lab05 import assertions
from tools.grading import grade_batch as gb
from tools.grading import mistakes
from tools.layout import ASSIGNMENT, AUTOGRADER_ZIP, HIDDEN, NOTEBOOK, ROOT
from tools.qa import mutation_corpus, mutation_runner, notebooks

README = ROOT / "README.md"


# ---------------------------------------------------------------------------------------------
# The table of mistakes
# ---------------------------------------------------------------------------------------------
def _readme_table() -> dict[str, str]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| id | the mistake |")
    table = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        match = re.fullmatch(r"\| `([^`]+)` \| (.*) \|", line)
        assert match, f"README's table of mistakes: a row that is not | `id` | text |: {line!r}"
        assert match[1] not in table, f"README's table of mistakes lists {match[1]} twice"
        table[match[1]] = match[2]
    return table


def test_the_readme_table_is_the_mistakes_table():
    readme = _readme_table()
    missing = sorted(set(hidden.MISTAKES) - set(readme))
    extra = sorted(set(readme) - set(hidden.MISTAKES))
    differ = {
        k: (hidden.MISTAKES[k], readme[k])
        for k in set(readme) & set(hidden.MISTAKES)
        if readme[k] != hidden.MISTAKES[k]
    }
    assert not (missing or extra or differ), (
        f"README's table of mistakes against MISTAKES in the hidden tests: ids missing from the README {missing}, "
        f"ids only in the README {extra}, descriptions that differ (MISTAKES, README) {differ}"
    )
    assert list(readme) == list(hidden.MISTAKES), "README lists the mistakes in another order than MISTAKES"


def _ids_used_in_the_hidden_tests() -> dict[str, list[str]]:
    """Every string literal of the hidden tests' modules that has the form of a mistake id, outside
    the MISTAKES table itself: {id: places (module:line)}."""
    used: dict[str, list[str]] = {}
    for path in sorted((ASSIGNMENT / HIDDEN).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tables = [
            node.value
            for node in tree.body
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "MISTAKES"
        ]
        keys = {id(k) for table in tables for k in table.keys}
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in keys
                and re.fullmatch(r"[a-z0-9]+(?:[-_][a-z0-9]+)*-[a-z0-9_-]+", node.value)
            ):
                used.setdefault(node.value, []).append(f"{path.name}:{node.lineno}")
    return used


def test_every_id_the_hidden_tests_use_is_in_the_table_and_every_id_is_used():
    used = _ids_used_in_the_hidden_tests()
    unknown = {i: lines for i, lines in used.items() if i not in hidden.MISTAKES}
    unused = sorted(set(hidden.MISTAKES) - set(used))
    assert not unknown, f"ids used in the hidden tests (module:line) that MISTAKES does not have: {unknown}"
    assert not unused, f"ids of MISTAKES that the hidden tests never use: {unused}"
    malformed = [i for i in hidden.MISTAKES if not mistakes.is_mistake_id(i)]
    assert not malformed, f"MISTAKES ids not of the form lowercase-words-with-hyphens: {malformed}"


def test_the_report_reads_the_table_from_the_bundle():
    _, table = mistakes.read_bundle(AUTOGRADER_ZIP)
    assert table == hidden.MISTAKES, "the bundle's MISTAKES (read without running it) differs from the project's"


def test_a_diagnosis_carries_its_id_and_the_default_none():
    alternatives = [(1.0, "tax-ratio-inverted", "inverted"), (2.0, "tax-baseline-ignored", "ignored")]
    got = hidden.diagnose(2.0, 3.0, alternatives, "wrong")
    assert got == hidden.Hint("ignored", "tax-baseline-ignored"), f"diagnose(2.0, ...): got {got}"
    got = hidden.diagnose(5.0, 3.0, alternatives, "wrong")
    assert got == hidden.Hint("wrong", None), f"diagnose(5.0, ...) matches no alternative: got {got}"
    assert (
        hidden.explain("f(1) returned 2", hidden.Hint("ignored", "tax-baseline-ignored"))
        == "f(1) returned 2: ignored. [mistake: tax-baseline-ignored]"
    )
    assert hidden.explain("f(1) returned 5", hidden.Hint("wrong")) == "f(1) returned 5: wrong."
    with pytest.raises(ValueError, match="not one of the MISTAKES"):
        hidden.Hint("text", "no-such-mistake")


def _namespace() -> dict:
    return {name: getattr(ref, name) for name in hidden.GRADED_FUNCTIONS}


def test_a_message_names_its_mistake_at_the_end():
    env = _namespace()
    env["parameter_count"] = lambda sizes: sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))  # biases forgotten
    with pytest.raises(assertions.CheckFailed) as info:
        hidden.test_parameter_count(env)
    lines = str(info.value).splitlines()
    assert lines[0].endswith(". [mistake: params-biases-missing]"), f"first line: {lines[0]!r}"
    assert mistakes.tags(str(info.value)) == ["params-biases-missing"] * 3, str(info.value)
    assert "more cases like these" in lines[-1], f"the message reports a few cases, then counts the rest: {lines}"


def test_mistakes_of_cases_not_shown_are_tagged_after_the_count():
    fails = hidden.Failures()
    for i in range(hidden.MAX_REPORTED):
        fails.add(f"case {i}: wrong. [mistake: tax-ratio-inverted]")
    fails.add("case 8: wrong. [mistake: tax-baseline-ignored]")
    fails.add("case 9: wrong. [mistake: tax-ratio-inverted]")
    fails.add("case 10: wrong.")
    with pytest.raises(assertions.CheckFailed) as info:
        fails.raise_if_any()
    last = str(info.value).splitlines()[-1]
    assert last == "(and 3 more cases like these) [mistake: tax-baseline-ignored]", f"got {last!r}"


def test_a_students_text_never_reads_as_a_tag():
    env = _namespace()

    def transistor_tax(activation, baseline="relu"):
        raise ValueError("no idea [mistake: tax-ratio-inverted]")

    env["transistor_tax"] = transistor_tax
    with pytest.raises(assertions.CheckFailed) as info:
        hidden.test_transistor_tax(env)
    message = str(info.value)
    assert "no idea" in message and not mistakes.tags(message), f"the student's text reads as a tag: {message!r}"
    shown = assertions.show("x [mistake: tax-ratio-inverted]")
    assert not mistakes.tags(shown[1:-1]), assertions.show("[mistake: a-b]")
    env = _namespace() | {"batch_doubling_ratio": "[Mistake: batch-ratio-inverted]"}
    with pytest.raises(assertions.CheckFailed) as info:
        hidden.test_batch_doubling(env)
    assert not mistakes.tags(str(info.value)), str(info.value)


# ---------------------------------------------------------------------------------------------
# The reader: results.json is hostile data
# ---------------------------------------------------------------------------------------------
QUESTION = "parameters_and_macs"
GOOD = {
    "name": QUESTION,
    "score": 1,
    "max_score": 3,
    "output": "parameters_and_macs results:\n    CheckFailed: - parameter_count([3, 2]) returned 6: the biases "
    "are missing. [mistake: params-biases-missing]\n",
}


def _results(*tests) -> bytes:
    return json.dumps({"tests": list(tests), "score": 1}).encode()


def _tagged(tag_text: str, name: str = QUESTION) -> bytes:
    return _results({"name": name, "score": 1, "max_score": 3, "output": f"CheckFailed: wrong. [mistake: {tag_text}]"})


#: submission -> results.json content (bytes), or a callable making it in the folder.
HOSTILE = {
    "huge": lambda folder: (folder / "results.json").write_bytes(
        b" " * (mistakes.MAX_RESULTS_BYTES + 1) + _tagged("params-biases-missing")
    ),
    "not_json": b"\x00\xff this is not JSON [mistake: params-biases-missing]",
    "deeply_nested": b"[" * 200_000,
    "a_list": b'[{"name": "parameters_and_macs", "output": "x [mistake: params-biases-missing]"}]',
    "tests_not_a_list": b'{"tests": "parameters_and_macs [mistake: params-biases-missing]"}',
    "wrong_types": json.dumps(
        {
            "tests": [
                1,
                None,
                "x",
                {"name": 5, "max_score": 3, "output": "[mistake: memory-in-kib]"},
                {"name": QUESTION, "max_score": 3, "output": ["x [mistake: params-biases-missing]"]},
                {"name": [QUESTION], "max_score": 3, "output": "x [mistake: params-biases-missing]"},
            ]
        }
    ).encode(),
    "unknown_id": _tagged("made-up-mistake"),
    "id_uppercase": _tagged("PARAMS-BIASES-MISSING"),
    "id_path": _tagged("../../params-biases-missing"),
    "id_underscores": _tagged("params_biases_missing"),
    "id_unicode": _tagged("params-biases-missing\u202e"),
    "id_too_long": _tagged("params-" + "x" * 100),
    "id_mid_line": _results(
        {
            "name": QUESTION,
            "score": 1,
            "max_score": 3,
            "output": "raised ValueError: [mistake: params-biases-missing] and more text",
        }
    ),
    "question_not_in_bundle": _tagged("params-biases-missing", name="bonus - 1"),
    "no_results": None,
    "a_link_outside": lambda folder: os.symlink(
        folder.parent.parent.parent / "outside" / "results.json", folder / "results.json"
    ),
    "a_folder": lambda folder: (folder / "results.json").mkdir(),
}


def _digest(folder: pathlib.Path, skip: pathlib.Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink() and skip not in p.parents
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    out = root / "out"
    (root / "outside").mkdir()
    (root / "outside" / "results.json").write_bytes(_tagged("params-biases-missing"))
    questions = list(possible_points())
    header = [
        "submission",
        "name",
        "email",
        "sid",
        "file",
        "status",
        *questions,
        "bonus",
        "total",
        "possible",
        "flags",
        "seconds",
        "message",
        "flag_details",
    ]
    full = possible_points()
    rows = []

    def row(key, name, status="ok", lost=True):
        scores = {q: full[q] for q in questions} | ({QUESTION: 1} if lost else {})
        rows.append(
            [
                key,
                name,
                "",
                "",
                f"{key}.ipynb",
                status,
                *[f"{scores[q]:g}" for q in questions],
                "1",
                f"{sum(scores.values()):g}",
                f"{sum(full.values()):g}",
                "",
                "1.0",
                "",
                "",
            ]
        )

    for key, content in {"good": _results(GOOD), **HOSTILE}.items():
        folder = out / "results" / key
        folder.mkdir(parents=True)
        if callable(content):
            content(folder)
        elif content is not None:
            (folder / "results.json").write_bytes(content)
        row(key, f"Student {key}")
    # a full-marks row whose results name a mistake anyway: not counted
    (out / "results" / "full").mkdir()
    (out / "results" / "full" / "results.json").write_bytes(_tagged("params-biases-missing"))
    row("full", "Student full", lost=False)
    row("../outside", "Student traversal")
    row("timed_out", "Student timeout", status="timeout")
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    before = _digest(root, out)
    report = mistakes.write_report(out, AUTOGRADER_ZIP)
    return {
        "root": root,
        "out": out,
        "report": report,
        "before": before,
        "text": (out / mistakes.TEXT_FILE).read_text(encoding="utf-8"),
    }


def _tally(report, question=QUESTION):
    return next(t for t in report.tallies if t.question == question)


def test_a_well_formed_results_json_is_counted(hostile):
    t = _tally(hostile["report"])
    assert t.named == {"params-biases-missing": ["good (Student good)"]}, f"named mistakes of {QUESTION}: {t.named}"
    assert "full (Student full)" in t.full, f"full marks: {t.full}"


@pytest.mark.parametrize("key", [*HOSTILE, "../outside"])
def test_hostile_results_count_as_other(hostile, key):
    t = _tally(hostile["report"])
    who = f"{key} (Student {'traversal' if key == '../outside' else key})"
    assert who in t.other, f"{key}: expected under other for {QUESTION}; other {t.other}, named {t.named}"
    assert all(who not in w for w in t.named.values()), f"{key}: counted under a named mistake: {t.named}"


def test_the_report_says_what_it_did_not_read(hostile):
    text = hostile["text"]
    for part in (
        "results.json not used",
        "huge (Student huge): larger than",
        "not_json (Student not_json): not JSON",
        "mistake tag(s) in the results name no mistake of the bundle's table",
        "belong to no question of grades.csv and the bundle",
        "Not graded ok, so not counted (1): timed_out (Student timeout) (timeout)",
    ):
        assert part in text, f"mistakes.txt should say {part!r}:\n{text}"
    assert "bonus" not in [t.question for t in hostile["report"].tallies], "a column the bundle does not have"
    assert hostile["report"].graded == len(HOSTILE) + 3, f"graded ok: {hostile['report'].graded}"


def test_nothing_is_written_outside_out(hostile):
    after = _digest(hostile["root"], hostile["out"])
    assert after == hostile["before"], "files outside OUT changed: " + str(
        sorted(set(after) ^ set(hostile["before"]) | {k for k in after if hostile["before"].get(k) != after[k]})
    )
    made = sorted(p.name for p in hostile["out"].iterdir() if p.is_file())
    assert made == ["grades.csv", "mistakes.png", "mistakes.txt"], f"files in OUT: {made} (a temporary file left?)"


def test_without_a_gradebook_the_report_refuses_clearly(tmp_path):
    with pytest.raises(mistakes.MistakesError, match="not a graded folder"):
        mistakes.write_report(tmp_path, AUTOGRADER_ZIP)
    (tmp_path / "grades.csv").write_text("just,some\ncells,here\n")
    with pytest.raises(mistakes.MistakesError, match="not a gradebook"):
        mistakes.write_report(tmp_path, AUTOGRADER_ZIP)
    done = subprocess.run(
        [sys.executable, "-m", "tools.grading.mistakes", str(tmp_path / "nowhere")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "is not a folder" in done.stderr, f"exit {done.returncode}: {done.stderr!r}"
    assert not (tmp_path / "nowhere").exists(), "the report must not create OUT"


def test_a_class_with_nothing_graded_ok_gets_a_report(tmp_path):
    questions = list(possible_points())
    with open(tmp_path / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["submission", "name", "status", *questions, "total", "message"])
        writer.writerow(["s1", "Ann", "timeout", *["0"] * len(questions), "0", "x" * 200_000])
    report = mistakes.write_report(tmp_path, AUTOGRADER_ZIP)
    text = (tmp_path / mistakes.TEXT_FILE).read_text(encoding="utf-8")
    assert report.graded == 0 and "No submission was graded ok" in text, text
    assert "Not graded ok, so not counted (1): s1 (Ann) (timeout)" in text, text
    assert (tmp_path / mistakes.FIGURE_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "mistakes.png is not a PNG"


def test_make_mistakes_passes_out():
    done = subprocess.run(["make", "-n", "mistakes", "OUT=graded dir"], cwd=ROOT, capture_output=True, text=True)
    assert 'tools.grading.mistakes "graded dir"' in done.stdout, f"make mistakes: {done.stdout!r} {done.stderr!r}"
    helped = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True)
    assert "make mistakes" in helped.stdout, helped.stdout


# ---------------------------------------------------------------------------------------------
# A small class with planted mistakes, graded once through the batch
# ---------------------------------------------------------------------------------------------
#: submission -> (student, mutants of the corpus planted in the solution). Every planted mutant
#: costs points on its own question only (tests/test_mutants.py).
CLASS = {
    "submission_3001": ("Ada Lovelace", []),
    "submission_3002": ("Ben Okafor", ["params_biases_forgotten", "act2_reflection_wrong"]),
    "submission_3003": ("Cy Nakamura", ["params_biases_forgotten", "mem_adam_state_counted_once"]),
    "submission_3004": ("Di Rossi", ["macs_index_error", "stall_less_or_equal_at_exact_power"]),
}
BROKEN = ("submission_3005", "Ed Broken")  # a corrupt notebook: not graded ok, so not counted
TIMEOUT = 300


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    import nbformat

    root = tmp_path_factory.mktemp("class")
    export, out = root / "export", root / "out"
    corpus = {m.name: m for m in mutation_corpus.EXTENDED}
    solution = notebooks.solution()
    for key, (_, planted) in CLASS.items():
        nb = solution
        for name in planted:
            nb = mutation_runner.inject(nb, corpus[name])
        (export / key).mkdir(parents=True)
        (export / key / NOTEBOOK).write_text(nbformat.writes(nb), encoding="utf-8")
    (export / BROKEN[0]).mkdir()
    (export / BROKEN[0] / NOTEBOOK).write_text(nbformat.writes(solution)[:3000], encoding="utf-8")
    people = {**{k: v[0] for k, v in CLASS.items()}, BROKEN[0]: BROKEN[1]}
    (export / gb.METADATA_FILE).write_text(
        "".join(
            f"{key}:\n  :submitters:\n  - :name: {name}\n    :email: {key}@example.edu\n    :sid: '{key[-4:]}'\n"
            for key, name in people.items()
        ),
        encoding="utf-8",
    )
    result = gb.grade_batch(export, out, workers=2, timeout=TIMEOUT, memory_limit="3GiB", progress=False)
    return {
        "export": export,
        "out": out,
        "result": result,
        "text": (out / mistakes.TEXT_FILE).read_text(encoding="utf-8"),
    }


def _planted() -> tuple[int, dict[str, dict[str, set[str]]]]:
    """(submissions graded ok, {question: {mistake id or "other": {who}}}) of CLASS."""
    corpus = {m.name: m for m in mutation_corpus.EXTENDED}
    expected: dict[str, dict[str, set[str]]] = {}
    for key, (name, planted) in CLASS.items():
        for mutant in (corpus[n] for n in planted):
            expected.setdefault(mutant.question, {}).setdefault(mutant.mistake or mistakes.OTHER, set()).add(
                f"{key} ({name})"
            )
    return len(CLASS), expected


def _parse(text: str) -> dict[str, dict]:
    """mistakes.txt -> {question: {"full": (count, of, share), mistake: (count, share, {who})}}."""
    parsed: dict[str, dict] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        head = re.fullmatch(r"(\w+) \([\d.]+ points\): full marks (\d+) of (\d+) \((\d+%)\)", line)
        if head:
            current = parsed.setdefault(head[1], {"full": (int(head[2]), int(head[3]), head[4])})
            continue
        row = re.fullmatch(r"  ([a-z0-9-]+) +(\d+) +(\d+%)  .*", line)
        if row and parsed:
            who = set(lines[i + 1].strip().split(", "))
            current[row[1]] = (int(row[2]), row[3], who)
    return parsed


def test_the_report_counts_what_was_planted(graded_class):
    statuses = {r.submission: r.status for r in graded_class["result"].rows}
    assert statuses == {**{k: "ok" for k in CLASS}, BROKEN[0]: "error"}, f"statuses: {statuses}"
    n, expected = _planted()
    parsed = _parse(graded_class["text"])
    assert sorted(parsed) == sorted(possible_points()), f"questions in mistakes.txt: {sorted(parsed)}"
    wrong = []
    for question, found in parsed.items():
        planted = expected.get(question, {})
        lost = set().union(*planted.values()) if planted else set()
        full = n - len(lost)
        if found["full"] != (full, n, f"{100 * full / n:.0f}%"):
            wrong.append(
                f"{question}: full marks: expected {full} of {n}, got {found['full'][:2]} ({found['full'][2]})"
            )
        got = {m: v for m, v in found.items() if m != "full"}
        want = {m: (len(who), f"{100 * len(who) / n:.0f}%", who) for m, who in planted.items()}
        if got != want:
            wrong.append(f"{question}: mistakes (count, share, who): expected {want}, got {got}")
    assert not wrong, (
        "mistakes.txt differs from what was planted:\n  " + "\n  ".join(wrong) + "\n\n" + graded_class["text"]
    )
    assert f"Not graded ok, so not counted (1): {BROKEN[0]} ({BROKEN[1]}) (error)" in graded_class["text"], (
        graded_class["text"]
    )


def test_the_figure_is_a_png(graded_class):
    import matplotlib.image

    path = graded_class["out"] / mistakes.FIGURE_FILE
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} starts with {data[:8]!r}, expected the PNG signature"
    height, width = matplotlib.image.imread(path).shape[:2]
    assert width >= 800 and height >= 400, f"{path.name} is {width}x{height} pixels; expected at least 800x400"


def test_the_summary_points_at_the_report(graded_class):
    summary = (graded_class["out"] / "summary.txt").read_text(encoding="utf-8")
    assert f"what the class got wrong: {graded_class['out'] / 'mistakes.txt'} and mistakes.png" in summary, summary


def test_grading_again_rebuilds_the_report_without_grading(graded_class):
    out = graded_class["out"]
    stamps = {k: json.loads((out / "results" / k / gb.ROW_FILE).read_text())["graded_at"] for k in CLASS}
    for name in (mistakes.TEXT_FILE, mistakes.FIGURE_FILE):
        (out / name).unlink()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.grading.grade_batch",
            str(graded_class["export"]),
            "--out",
            str(out),
            "--workers",
            "1",
            "--timeout",
            str(TIMEOUT),
            "--no-progress",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert f"mistakes:  {out / 'mistakes.txt'} and mistakes.png" in done.stdout, done.stdout
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert f"graded now 0, reused from an earlier run {len(CLASS) + 1}" in summary, summary
    again = {k: json.loads((out / "results" / k / gb.ROW_FILE).read_text())["graded_at"] for k in CLASS}
    assert again == stamps, f"a re-run without --regrade graded again (graded_at before {stamps}, after {again})"
    assert (out / mistakes.TEXT_FILE).read_text(encoding="utf-8") == graded_class["text"], (
        "the rebuilt mistakes.txt differs from the first"
    )
    assert (out / mistakes.FIGURE_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "mistakes.png was not rebuilt"
    cli = subprocess.run(
        [sys.executable, "-m", "tools.grading.mistakes", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0 and "4 submission(s) graded ok" in cli.stdout, f"{cli.stdout!r} {cli.stderr!r}"
    assert (out / mistakes.TEXT_FILE).read_text(encoding="utf-8") == graded_class["text"], (
        "python -m tools.grading.mistakes OUT wrote another report than make grade"
    )

"""What the class got wrong: the mistakes report of a graded folder, for instructors.

    python -m tools.grading.mistakes [OUT] [--autograder ZIP]        (make mistakes OUT=...)

OUT (default ``grades/batch/``) is a folder ``make grade`` wrote. The report is made from what
the batch keeps there, and nothing else: ``grades.csv`` (who, each question's score, the status)
and ``results/<submission>/results.json`` (the hidden tests' messages). It writes:

- ``mistakes.txt``: for each question, how many of the submissions graded ok earned full marks,
  then every mistake the hidden tests named there (the id ending their message,
  ``[mistake: <id>]``), with its count, its share and the submissions that made it; lost points
  the tests named no mistake for are counted as ``other``;
- ``mistakes.png``: one bar per question, the shares of full marks, of each named mistake and of
  other, stacked.

A submission that lost points on a question is listed under every mistake named in its messages
there (so one submission can count under several); in the figure each of them counts as an
equal part of that submission, so that every bar adds up to the class.

The kept files are data, not trusted: ``results.json`` is read with a size cap, as JSON only,
without following links; an id counts only if it has the form of one and is in the bundle's
table of mistakes (``MISTAKES`` in ``lab05_autograder/hidden/mistakes.py``, read without running
it), and a question only if grades.csv and the bundle both have it. Anything else is left out or counted as other,
and said so in the report. Both files are written to a temporary file in OUT first and then
moved over the old one; nothing is written anywhere else. ``make grade`` (tools/grading/batch/report.py)
writes the report after every run, also when every submission was graded earlier.
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import io
import json
import math
import os
import pathlib
import re
import sys
import zipfile

if __package__ in (None, ""):  # run as a file (python tools/<audience>/<name>.py): make the project importable
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))

from tools.grading.bundle import read_questions  # noqa: E402
from tools.grading.results import MAX_RESULTS_BYTES  # noqa: E402
from tools.grading.staging import read_capped, write_atomically  # noqa: E402
from tools.layout import AUTOGRADER_ZIP, BATCH_GRADES, BUNDLE_FILES, MISTAKES_MODULE  # noqa: E402

MISTAKES_TABLE = f"{BUNDLE_FILES}/{MISTAKES_MODULE}"  # where the bundle keeps the table of mistakes
TEXT_FILE, FIGURE_FILE = "mistakes.txt", "mistakes.png"
OTHER = "other"

#: The form of a mistake id: lowercase words joined by hyphens, e.g. ``params-biases-missing``.
MISTAKE_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
MAX_ID_CHARS = 64
#: A tag at the end of a line of a message: `` [mistake: <id>]`` (what is inside is checked after).
_TAG_AT_END = re.compile(r" \[mistake: ([^\[\]\n]{0,200})\]$")

MAX_GRADES_BYTES = 64 * 1024**2
_SUBMISSION_KEY = re.compile(r"[^/\\\x00]{1,255}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MistakesError(ValueError):
    """The report cannot be made: the message says what is missing and what to do."""


# ---------------------------------------------------------------------------------------------
# The bundle: its questions and its table of mistakes, read without running anything
# ---------------------------------------------------------------------------------------------
def mistakes_table(source: str) -> dict[str, str]:
    """``MISTAKES`` as the hidden tests' ``source`` defines it (a literal dict), checked."""
    for node in ast.parse(source).body:
        target = (
            node.target
            if isinstance(node, ast.AnnAssign)
            else (node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        )
        if isinstance(target, ast.Name) and target.id == "MISTAKES" and node.value is not None:
            table = ast.literal_eval(node.value)
            break
    else:
        raise MistakesError("the hidden tests define no MISTAKES table")
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise MistakesError("MISTAKES is not a table of id -> description")
    bad = [k for k in table if not is_mistake_id(k)]
    if bad:
        raise MistakesError(f"MISTAKES has ids of the wrong form: {bad}")
    return table


def is_mistake_id(text: str) -> bool:
    return len(text) <= MAX_ID_CHARS and MISTAKE_ID.fullmatch(text) is not None


def read_bundle(autograder: pathlib.Path) -> tuple[dict[str, float], dict[str, str]]:
    """``({question: points}, MISTAKES)`` of the autograder bundle."""
    autograder = pathlib.Path(autograder)
    if not autograder.is_file():
        raise MistakesError(
            f"{autograder} does not exist: run `make` to build the autograder bundle, or pass "
            "--autograder path/to/autograder.zip"
        )
    try:
        _, questions = read_questions(autograder)
        with zipfile.ZipFile(autograder) as zf:
            source = zf.read(MISTAKES_TABLE).decode("utf-8")
        return questions, mistakes_table(source)
    except (zipfile.BadZipFile, KeyError, SyntaxError, UnicodeDecodeError, ValueError, OSError) as exc:
        if isinstance(exc, MistakesError):
            raise
        raise MistakesError(f"{autograder} is not this lab's autograder bundle ({exc})") from None


# ---------------------------------------------------------------------------------------------
# Reading what the batch kept
# ---------------------------------------------------------------------------------------------
def clean(text: str, limit: int = 200) -> str:
    """A name from the gradebook as one printable line."""
    text = " ".join(_CONTROL.sub(" ", str(text)).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclasses.dataclass
class Entry:
    """One row of grades.csv."""

    submission: str
    who: str
    status: str
    scores: dict[str, float]


def read_gradebook(out: pathlib.Path, known: dict[str, float]) -> tuple[list[str], list[Entry], list[str]]:
    """``(questions in the gradebook's order, rows, notes)`` from OUT/grades.csv.

    A question is a column that the bundle (``known``) has too; other columns are not questions.
    """
    path = out / "grades.csv"
    try:
        data = read_capped(path, MAX_GRADES_BYTES)
    except FileNotFoundError:
        raise MistakesError(
            f"{path} does not exist: {out} is not a graded folder (run `make grade` first, or give the OUT it wrote)"
        ) from None
    except (OSError, ValueError) as exc:
        raise MistakesError(f"{path} cannot be read ({exc})") from None
    limit = csv.field_size_limit(MAX_GRADES_BYTES)  # a long message or flag detail is still one field
    try:
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        header = next(reader, None)
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MistakesError(f"{path} is not a gradebook ({exc})") from None
    finally:
        csv.field_size_limit(limit)
    if not header or "submission" not in header or "status" not in header:
        raise MistakesError(f"{path} is not a gradebook written by `make grade` (no submission and status columns)")
    questions = [h for h in dict.fromkeys(header) if h in known]
    notes = []
    if not questions:
        notes.append("grades.csv has no column of the bundle's questions")
    column = {h: i for i, h in reversed(list(enumerate(header)))}
    entries = []
    for values in rows:
        if not values:
            continue

        def get(name: str, values: list = values) -> str:
            return values[column[name]] if name in column and column[name] < len(values) else ""

        scores = {}
        for q in questions:
            try:
                score = float(get(q))
            except ValueError:
                score = math.nan
            scores[q] = score if math.isfinite(score) else 0.0
        submission, name = get("submission"), get("name")
        who = clean(submission) + (f" ({clean(name)})" if name and name != get("file") else "")
        entries.append(Entry(submission, who, clean(get("status"), 40), scores))
    return questions, entries, notes


def read_results(out: pathlib.Path, submission: str) -> dict:
    """OUT/results/<submission>/results.json, read as hostile data; ValueError or OSError says why not."""
    if not _SUBMISSION_KEY.fullmatch(submission) or submission in (".", ".."):
        raise ValueError("its name cannot be a folder of results/")
    results = os.open(out / "results", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        folder = os.open(submission, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=results)
        try:
            data = read_capped("results.json", MAX_RESULTS_BYTES, dir_fd=folder)
        finally:
            os.close(folder)
    finally:
        os.close(results)
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("not JSON") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("tests"), list):
        raise ValueError("not Otter's results (no list of tests)")
    return parsed


def tags(text: str) -> list[str]:
    """What the tags at the end of each line of ``text`` hold (not yet checked), in order."""
    found = []
    for line in text.splitlines():
        line = line.rstrip()
        at_end = []
        while (match := _TAG_AT_END.search(line)) is not None:
            at_end.insert(0, match.group(1))
            line = line[: match.start()]
        found += at_end
    return found


@dataclasses.dataclass
class Named:
    """What one results.json names."""

    mistakes: dict[str, set[str]]  # question -> ids of known mistakes its messages name
    rejected: int = 0  # tags that are not ids of the table
    unknown: int = 0  # scored tests of questions the gradebook does not have
    malformed: int = 0  # test entries that are not {name: str, output: str, ...}


def named_mistakes(results: dict, questions: list[str], mistakes: dict[str, str]) -> Named:
    """The mistakes each question's messages in one results.json name (only ids of ``mistakes``)."""
    named = Named({q: set() for q in questions})
    for test in results.get("tests", []):
        if not isinstance(test, dict) or "max_score" not in test:
            continue  # text only, e.g. Otter's "Public Tests" summary
        if not isinstance(test.get("name"), str) or not isinstance(test.get("output", ""), str):
            named.malformed += 1
            continue
        question = test["name"].split(" - ")[0].strip()
        if question not in named.mistakes:
            named.unknown += 1
            continue
        for found in tags(test.get("output", "")):
            if is_mistake_id(found) and found in mistakes:
                named.mistakes[question].add(found)
            else:
                named.rejected += 1
    return named


# ---------------------------------------------------------------------------------------------
# The tally
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Tally:
    """One question across the class."""

    question: str
    points: float
    full: list[str] = dataclasses.field(default_factory=list)
    named: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # id -> who
    other: list[str] = dataclasses.field(default_factory=list)
    parts: dict[str, float] = dataclasses.field(default_factory=dict)  # id or OTHER -> share of submissions

    def lost(self) -> list[tuple[str, list[str]]]:
        """``(id, who)`` of each named mistake, most frequent first, then other."""
        ordered = sorted(self.named.items(), key=lambda item: (-len(item[1]), item[0]))
        return ordered + ([(OTHER, self.other)] if self.other else [])


@dataclasses.dataclass
class Report:
    tallies: list[Tally]
    graded: int  # submissions graded ok: every share is of these
    not_graded: list[str]  # the others, with their status
    mistakes: dict[str, str]
    notes: list[str]


def tally(out: pathlib.Path, autograder: pathlib.Path = AUTOGRADER_ZIP) -> Report:
    """Count, for each question, full marks, each named mistake and other, from what OUT keeps."""
    out = pathlib.Path(out)
    known, mistakes = read_bundle(autograder)
    questions, entries, notes = read_gradebook(out, known)
    tallies = {q: Tally(q, known[q]) for q in questions}
    graded = [e for e in entries if e.status == "ok"]
    not_graded = [f"{e.who} ({e.status or 'no status'})" for e in entries if e.status != "ok"]
    rejected = unknown = malformed = 0
    unreadable = []
    for entry in graded:
        lost = [q for q in questions if entry.scores[q] < known[q] - 1e-9]
        for q in questions:
            if q not in lost:
                tallies[q].full.append(entry.who)
        if not lost:
            continue
        try:
            found = named_mistakes(read_results(out, entry.submission), questions, mistakes)
        except (OSError, ValueError) as exc:
            unreadable.append(f"{entry.who}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")
            found = Named({q: set() for q in questions})
        rejected, unknown, malformed = rejected + found.rejected, unknown + found.unknown, malformed + found.malformed
        named = found.mistakes
        for q in lost:
            t = tallies[q]
            if named[q]:
                for mistake in sorted(named[q]):
                    t.named.setdefault(mistake, []).append(entry.who)
                    t.parts[mistake] = t.parts.get(mistake, 0.0) + 1 / len(named[q])
            else:
                t.other.append(entry.who)
                t.parts[OTHER] = t.parts.get(OTHER, 0.0) + 1
    if unreadable:
        notes.append(
            "results.json not used (the points these submissions lost count as other): " + "; ".join(unreadable)
        )
    if rejected:
        notes.append(f"{rejected} mistake tag(s) in the results name no mistake of the bundle's table; not counted")
    if unknown:
        notes.append(
            f"{unknown} scored test(s) in the results belong to no question of grades.csv and the bundle; not read"
        )
    if malformed:
        notes.append(
            f"{malformed} test entr{'y' if malformed == 1 else 'ies'} in the results are not Otter's "
            "(a name and an output); not read"
        )
    return Report(list(tallies.values()), len(graded), not_graded, mistakes, notes)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def _share(count: int, of: int) -> str:
    return f"{100 * count / of:.0f}%" if of else "-"


def render(report: Report) -> str:
    """mistakes.txt."""
    n = report.graded
    lines = [
        "What the class got wrong: the mistakes the hidden tests named, question by question.",
        f"Shares are of the {n} submission(s) graded ok.",
    ]
    if report.not_graded:
        lines.append(f"Not graded ok, so not counted ({len(report.not_graded)}): {', '.join(report.not_graded)}")
    lines += [
        "A submission that lost points on a question is listed under each mistake its messages there name",
        "(it can make several), and under 'other' when they name none. The ids are described in the",
        "README, 'What the class got wrong', and in MISTAKES in assignment/lab05_autograder/hidden/mistakes.py.",
        "",
    ]
    if not n:
        lines.append("No submission was graded ok: there is nothing to count.")
    for t in report.tallies if n else []:
        lines.append(f"{t.question} ({t.points:g} points): full marks {len(t.full)} of {n} ({_share(len(t.full), n)})")
        lost = t.lost()
        width = max((len(m) for m, _ in lost), default=0)
        for mistake, who in lost:
            what = report.mistakes.get(mistake, "lost points the hidden tests named no mistake for")
            lines.append(f"  {mistake:<{width}}  {len(who):>4}  {_share(len(who), n):>4}  {what}")
            lines.append(f"      {', '.join(who)}")
        lines.append("")
    if report.notes:
        lines += ["Notes:"] + [f"  {note}" for note in report.notes]
    return "\n".join(lines).rstrip("\n") + "\n"


FULL_COLOR, OTHER_COLOR = "#55A868", "#BBBBBB"
_PALETTE = [
    "#C44E52",
    "#DD8452",
    "#8172B3",
    "#937860",
    "#DA8BC3",
    "#4C72B0",
    "#CCB974",
    "#64B5CD",
    "#8C1D40",
    "#E377C2",
    "#7F7F7F",
    "#BCBD22",
    "#17BECF",
    "#9467BD",
    "#D62728",
    "#FF9896",
]


def draw(report: Report):
    """mistakes.png as a matplotlib figure (Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n = report.graded
    tallies = report.tallies if n else []
    used = sorted({m for t in tallies for m in t.named})
    colors = {m: _PALETTE[i % len(_PALETTE)] for i, m in enumerate(used)}
    legend_rows = math.ceil((len(used) + 2) / 2)
    fig, ax = plt.subplots(figsize=(13, 1.2 + 0.5 * max(1, len(tallies)) + 0.28 * legend_rows))
    labels = []
    for y, t in enumerate(reversed(tallies)):
        left = 0.0
        segments = [("full marks", 100 * len(t.full) / n, FULL_COLOR)]
        segments += [(m, 100 * t.parts.get(m, 0.0) / n, colors[m]) for m, _ in t.lost() if m != OTHER]
        segments += [(OTHER, 100 * t.parts.get(OTHER, 0.0) / n, OTHER_COLOR)]
        for name, width, color in segments:
            if width <= 0:
                continue
            ax.barh(
                y, width, left=left, color=color, edgecolor="white", height=0.7, hatch="//" if name == OTHER else None
            )
            if width >= 4:
                named = name != "full marks" and width >= 0.6 * len(name) + 2  # room for the id
                text = f"{name}\n{width:.0f}%" if named else f"{width:.0f}%"
                ax.text(
                    left + width / 2,
                    y,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if name not in (OTHER,) else "black",
                )
            left += width
        labels.append(f"{t.question} ({t.points:g})")
    if tallies:
        ax.set_yticks(range(len(tallies)), labels)
    else:
        ax.set_yticks([])
        ax.text(50, 0, "no submission graded ok", ha="center", va="center")
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"share of the {n} submission(s) graded ok, %")
    ax.set_title("What the class got wrong: full marks, each mistake the hidden tests named, and other", fontsize=11)
    handles = [
        Patch(color=FULL_COLOR, label="full marks"),
        Patch(facecolor=OTHER_COLOR, hatch="//", label="other (lost points, no mistake named)"),
    ]
    handles += [Patch(color=colors[m], label=m) for m in used]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.08 - 0.4 / max(1, len(tallies))),
        ncol=2 if len(handles) > 4 else len(handles),
        fontsize=8,
        frameon=False,
    )
    if any(len(t.named.get(m, [])) != t.parts.get(m, 0) for t in tallies for m in t.named):
        fig.text(
            0.01,
            0.005,
            "A submission with several named mistakes on a question counts as an equal part of each.",
            fontsize=7,
            color="#555555",
        )
    fig.tight_layout()
    return fig


def write_report(out: pathlib.Path, autograder: pathlib.Path = AUTOGRADER_ZIP) -> Report:
    """Write OUT/mistakes.txt and OUT/mistakes.png from what OUT keeps; returns the tally."""
    out = pathlib.Path(out)
    if not out.is_dir():
        raise MistakesError(f"{out} is not a folder: give the OUT that `make grade` wrote")
    report = tally(out, autograder)
    write_atomically(out / TEXT_FILE, render(report), mode=0o644)
    import matplotlib.pyplot as plt

    fig = draw(report)
    try:
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100, bbox_inches="tight")
        write_atomically(out / FIGURE_FILE, png.getvalue(), mode=0o644)
    finally:
        plt.close(fig)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grading.mistakes", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "out",
        type=pathlib.Path,
        nargs="?",
        default=BATCH_GRADES,
        help="the folder `make grade` wrote (default grades/batch/)",
    )
    parser.add_argument(
        "--autograder",
        type=pathlib.Path,
        default=AUTOGRADER_ZIP,
        help="the bundle that graded it (default autograder/autograder.zip)",
    )
    args = parser.parse_args(argv)
    try:
        report = write_report(args.out, args.autograder)
    except MistakesError as exc:
        print(f"mistakes: {exc}", file=sys.stderr)
        return 2
    print(f"mistakes report of {report.graded} submission(s) graded ok: {args.out / TEXT_FILE} and {FIGURE_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

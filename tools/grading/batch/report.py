"""The batch's outputs: grades.csv, summary.txt and summary.png from the rows; then the mistakes
report (mistakes.txt, mistakes.png) from grades.csv and the kept results.json files."""

from __future__ import annotations

import csv
import datetime
import io
import statistics
from collections import Counter

from tools.grading.batch.row import FLAGS, KERNEL_FLAG, STATUSES, UNSANDBOXED_FLAG, Row
from tools.grading.staging import write_atomically
from tools.layout import AUTOGRADER_ZIP

SLOWEST = 5


def question_order(result) -> list[str]:
    """The bundle's questions in the order most notebooks check them, then any others."""
    orders = Counter(tuple(row.check_order) for row in result.rows if row.check_order)
    order = [q for q in (orders.most_common(1)[0][0] if orders else ()) if q in result.questions]
    return order + [q for q in result.questions if q not in order]


def write_outputs(result) -> None:
    questions = question_order(result)
    possible = {q: result.questions.get(q, 0.0) for q in questions}
    write_csv(result, questions)
    write_mistakes(result)
    write_summary(result, questions, possible)
    write_plot(result, questions, possible)


def write_mistakes(result) -> None:
    """mistakes.txt and mistakes.png, from what OUT keeps (a failure is noted in summary.txt)."""
    from tools.grading import mistakes

    try:
        mistakes.write_report(result.out, result.autograder or AUTOGRADER_ZIP)
    except mistakes.MistakesError as exc:
        result.notes.append(f"the mistakes report was not written: {exc}")


def _fmt(value: float) -> str:
    return f"{value:g}"


def sort_key(row: Row):
    return (row.name or row.submission).lower(), row.submission


def write_csv(result, questions: list[str]) -> None:
    with_gradescope = any(row.gradescope_score for row in result.rows)
    header = (
        ["submission", "name", "email", "sid", "file", "status", *questions, "total", "possible", "flags", "seconds"]
        + (["gradescope_score"] if with_gradescope else [])
        + ["message", "flag_details"]
    )
    with io.StringIO(newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in sorted(result.rows, key=sort_key):
            scores = row.scores
            values = [
                row.submission,
                row.name,
                row.email,
                row.sid,
                row.file,
                row.status,
                *[_fmt(scores.get(q, 0.0)) for q in questions],
                _fmt(row.total),
                _fmt(row.possible),
                ";".join(row.flags),
                f"{row.seconds:.1f}",
            ]
            if with_gradescope:
                values.append(row.gradescope_score)
            values += [row.message, " | ".join(row.flag_details)]
            writer.writerow(values)
        write_atomically(result.csv, f.getvalue())


def _who(row: Row) -> str:
    return f"{row.submission} ({row.name})" if row.name and row.name != row.file else row.submission


def write_summary(result, questions: list[str], possible: dict[str, float]) -> None:
    rows = result.rows
    ok = [r for r in rows if r.status == "ok"]
    total_possible = sum(possible.values())
    lines = [
        f"Batch grading of {len(rows)} submission(s), {datetime.datetime.now():%Y-%m-%d %H:%M}",
        f"graded now {result.graded}, reused from an earlier run {result.reused} (--regrade to redo them)",
        f"autograder bundle sha256 {result.bundle_sha256[:16]}…",
    ]
    if result.unsandboxed or any(r.unsandboxed for r in rows):
        n = sum(r.unsandboxed for r in rows)
        lines.append(
            f"WARNING: {n} submission(s) were graded WITHOUT the sandbox (UNSANDBOXED=1): their code "
            "ran with the grader's rights; every such row carries the flag 'unsandboxed'"
        )
    else:
        lines.append("every submission was graded in the sandbox (bubblewrap); the verdict is trusted scoring's")
    lines.append("")
    stale = [r for r in rows if r.reused and r.autograder_sha256 != result.bundle_sha256]
    if stale:
        lines += [
            f"WARNING: {len(stale)} reused result(s) were graded with a different bundle: run with "
            "--regrade (REGRADE=1)",
            "",
        ]
    for note in result.notes:
        lines.append(f"NOTE: {note}")
    if result.notes:
        lines.append("")
    lines.append("status: " + ", ".join(f"{s} {sum(r.status == s for r in rows)}" for s in STATUSES))
    if ok:
        totals = [r.total for r in ok]
        lines.append(
            f"total score (ok submissions): mean {statistics.mean(totals):.2f}, median "
            f"{statistics.median(totals):g}, min {min(totals):g}, max {max(totals):g} of "
            f"{total_possible:g}"
        )
        lines += ["", "mean score per question (ok submissions):"]
        width = max(len(q) for q in questions) if questions else 8
        for q in questions:
            got = [r.scores.get(q, 0.0) for r in ok]
            lines.append(f"  {q:<{width}}  {statistics.mean(got):5.2f} / {possible.get(q, 0):g}")
    lines += ["", "integrity flags (a reason to look, not a verdict; see README 'For TAs'):"]
    any_flag = False
    for code, meaning in FLAGS.items():
        hits = sorted((r for r in rows if code in r.flags), key=sort_key)
        if not hits:
            continue
        any_flag = True
        if code == KERNEL_FLAG:
            shown = ", ".join(f"{_who(r)} [{', '.join(r.differ)}]" for r in hits[:10])
        elif code == UNSANDBOXED_FLAG and len(hits) == len(rows):
            shown = "every submission"
        else:
            shown = ", ".join(_who(r) for r in hits[:10])
        more = f" and {len(hits) - 10} more" if len(hits) > 10 and shown != "every submission" else ""
        lines.append(f"  {code} {len(hits)}: {meaning}: {shown}{more}")
    if not any_flag:
        lines.append("  none")
    trouble = [r for r in rows if r.status != "ok"]
    if trouble:
        lines += ["", "not graded ok:"]
        lines += [f"  {_who(r)}: {r.status}: {r.message}" for r in sorted(trouble, key=sort_key)]
    timed = sorted((r for r in rows if r.seconds), key=lambda r: -r.seconds)[:SLOWEST]
    if timed:
        lines += ["", "slowest submissions:"]
        lines += [f"  {r.seconds:7.1f}s  {_who(r)} ({r.status})" for r in timed]
    if result.ignored:
        lines += ["", f"ignored (not submissions): {', '.join(result.ignored)}"]
    lines += [
        "",
        f"gradebook: {result.csv}",
        f"Otter's results: {result.out / 'results'}/<submission>/results.json",
        f"what the class got wrong: {result.out / 'mistakes.txt'} and mistakes.png",
    ]
    (result.out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(result, questions: list[str], possible: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in result.rows if r.status == "ok"]
    total_possible = sum(possible.values()) or 1
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), gridspec_kw={"width_ratios": [1, 1.2]})
    totals = [r.total for r in ok]
    bins = max(1, min(33, int(total_possible)))
    left.hist(totals, bins=bins, range=(0, total_possible), color="#4C72B0", edgecolor="white")
    others = len(result.rows) - len(ok)
    left.set_title(f"Total score, {len(ok)} graded ok" + (f" ({others} not ok, not shown)" if others else ""))
    left.set_xlabel(f"points (of {total_possible:g})")
    left.set_ylabel("submissions")
    means = []
    for q in questions:
        got = [r.scores.get(q, 0.0) for r in ok]
        means.append(100 * statistics.mean(got) / possible[q] if got and possible.get(q) else 0.0)
    y = list(range(len(questions)))[::-1]
    right.barh(y, means, color="#55A868")
    right.set_yticks(y, [f"{q} ({possible.get(q, 0):g})" for q in questions])
    right.set_xlim(0, 100)
    right.set_xlabel("mean score, % of the question's points")
    right.set_title("Mean score per question (ok submissions)")
    for yi, m in zip(y, means):
        right.text(min(m + 1, 92), yi, f"{m:.0f}%", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(result.out / "summary.png", dpi=100)
    plt.close(fig)

"""The batch grader (``make grade``, ``python -m tools.grading.grade_batch``), one module per stage of the data:

- :mod:`tools.grading.batch.discover`: the submissions folder -> :class:`~tools.grading.batch.discover.Submission` s
  (Gradescope's export and its metadata, or a plain folder);
- :mod:`tools.grading.batch.worker`: one submission -> one :class:`~tools.grading.batch.row.Row`, graded through
  the pipeline of ``make grade-one`` (tools/grading/grade_one.py: staging, trusted scoring with the probe in
  a sandbox, Otter's run in a sandbox, validation), plus the integrity scan;
- :mod:`tools.grading.batch.coordinator`: scheduling, time limits, resuming, the progress bar;
- :mod:`tools.grading.batch.report`: grades.csv, summary.txt, summary.png;
- :mod:`tools.grading.batch.row`: the one row type, with its JSON form and its validation.
"""

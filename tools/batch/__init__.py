"""The batch grader (``make grade``, ``python -m tools.grade_batch``), one module per stage of the data:

- :mod:`tools.batch.discover`: the submissions folder -> :class:`~tools.batch.discover.Submission` s
  (Gradescope's export and its metadata, or a plain folder);
- :mod:`tools.batch.worker`: one submission -> one :class:`~tools.batch.row.Row`, graded through
  the pipeline of ``make grade-one`` (tools/grade_one.py: staging, trusted scoring with the probe in
  a sandbox, Otter's run in a sandbox, validation), plus the integrity scan;
- :mod:`tools.batch.coordinator`: scheduling, time limits, resuming, the progress bar;
- :mod:`tools.batch.report`: grades.csv, summary.txt, summary.png;
- :mod:`tools.batch.row`: the one row type, with its JSON form and its validation.
"""

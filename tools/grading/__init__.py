"""Grading: a submission (or a class of them) in, scores, flags and the class's mistakes out.

- :mod:`tools.grading.grade_one`: one submission, ``make grade-one``; :mod:`tools.grading.score_one`
  runs its trusted scoring in a process of its own, started by :mod:`tools.grading.scoring_process`,
  both sides loading trusted scoring (and the probe's sandbox) through :mod:`tools.grading.trusted`;
  :mod:`tools.grading.crosscheck` runs Otter in the notebook's kernel to compare, and
  :mod:`tools.grading.results` reads and checks Otter's ``results.json``;
- :mod:`tools.grading.grade_batch` with its stages in :mod:`tools.grading.batch`: a class, ``make grade``;
- :mod:`tools.grading.staging`: an upload reduced to plain files with canonical names;
- :mod:`tools.grading.sandbox`: bubblewrap around the student's code, with its limits;
- :mod:`tools.grading.bundle`: the reader of the autograder bundle;
- :mod:`tools.grading.integrity`: the static scan of a submission's code for integrity flags;
- :mod:`tools.grading.mistakes`: the class report of the mistake ids (``make mistakes``).
"""

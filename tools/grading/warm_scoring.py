"""Work every scoring process would do again, done once in their fork server, which imports this module.

:data:`tools.grading.score_one.PRELOAD` names it: the fork server imports it before it forks the
first scoring process, so each one starts with the site-packages listing its probe's sandbox leaves
out (``sandbox.hidden_site_entries``, about 0.5 CPU-s to work out) already made. It holds nothing of
any submission.
"""

from tools.grading import sandbox

sandbox.hidden_site_entries()

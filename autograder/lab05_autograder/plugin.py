"""The Otter plugin the bundle's config names (through the ``lab05_otter`` shim): Otter's events,
each handed to the module that does the work.

``before_grading`` (in the submission folder, before Otter starts the kernel):

1. delete what Otter would unpickle and guard its reading of the kernel's results
   (:mod:`~lab05_autograder.unpickle`); put the bundle's ``lab05/`` in place of the upload's;
2. as root (Gradescope): close the bundle's folders and take users of this run's own
   (:mod:`~lab05_autograder.confine`);
3. score every test in a probe (:mod:`~lab05_autograder.scoring`);
4. leave the kernel only the public tests (:mod:`~lab05_autograder.kernel`), write the trusted
   results as Gradescope's provisional ones (:mod:`~lab05_autograder.verdict`), and as root make
   the kernel start as an unprivileged user.

``after_grading``: the trusted results take the place of Otter's, with the integrity flags.

Configuration: none. With ``"external"`` in the environment variable named by
``policy.EXTERNAL_ENV`` the plugin leaves Otter's run alone (set only by
:func:`lab05_autograder.local.otter_plugin`, for benchmarks).
"""

from __future__ import annotations

import os
import pathlib

from otter.plugins import AbstractOtterPlugin

from . import bundle, confine, kernel, policy, scoring, unpickle, verdict, wire


class TrustedScoring(AbstractOtterPlugin):
    """Otter plugin (named in the assignment's config): scores every test outside the kernel.

    The probe runs in ``before_grading``, before Otter starts the kernel: nothing the kernel does
    (files it leaves, processes it starts) exists yet while the student's code is scored.
    """

    def before_grading(self, config):
        # runs in the submission folder, before the notebook is executed
        self.removed = unpickle.strip_untrusted_files(".")
        files = bundle.BUNDLE_FILES or pathlib.Path(".")
        kernel.restore_support_package(files, ".")
        unpickle.guard_otter_unpickling()
        self.external = os.environ.get(policy.EXTERNAL_ENV) == "external"
        self.scored, self.failure, self.undo_kernel = None, None, None
        if self.external:
            return
        autograder_dir = pathlib.Path(str(getattr(config, "autograder_dir", "/autograder")))
        if os.geteuid() == 0:
            confine.close_autograder_folder(autograder_dir)
            confine.take_uid_slot()
        try:
            self.scored = scoring.score(scoring.prepare(self.submission_path, "tests", files))
        except Exception as exc:  # noqa: BLE001 - reported in after_grading, with no points
            self.failure = exc
        # What the kernel may see: the support package and tests whose hidden cases it cannot run.
        kernel.prepare_kernel_folder(".", files)
        if self.scored is not None:  # the verdict stands even if the kernel never finishes
            results_file = autograder_dir / "results" / "results.json"
            verdict.write_provisional_results(self.scored, config, results_file, self.removed)
        self.undo_kernel = confine.unprivileged_kernel(".") if os.geteuid() == 0 else None

    def after_grading(self, results):
        if self.external:
            return
        if self.undo_kernel is not None:
            self.undo_kernel()
        if self.scored is None:  # no trusted verdict: no points from the kernel either
            results.results = {}
            results.set_output(
                f"integrity flag {policy.FLAG_SCORING_ERROR}: trusted scoring failed ({wire.short(self.failure)}); "
                "please alert your instructor."
            )
            return
        kernel_scores = {name: float(tf.score) for name, tf in getattr(results, "results", {}).items()}
        verdict.replace_results(results, self.scored, kernel_scores, self.removed)

    def generate_report(self):
        return ""

"""Lab 05's autograder: trusted scoring, the probe, the hidden tests. Ships in the bundle only.

Otter's config names the plugin through the top-level shim ``lab05_otter``, which loads this
package from the ``files/`` of the bundle being run; the bundle's test files import the hidden
tests from it (``from lab05_autograder import hidden``). This file imports nothing: the probe
receives a copy of it with its own three modules. One job per module:

    ``policy.py``     every limit and flag name of grading, written once (the probe reads it too)
    ``wire.py``       the JSON the probe answers in, decoded with exact types and size limits
    ``probe.py``      runs the notebook's code in a confined process and answers calls (a script)
    ``bundle.py``     where the bundle's files are; the files the probe receives
    ``confine.py``    starting the probe as an unprivileged user, uid slots, the kernel's user
    ``session.py``    the probe of one submission (``Session``) and the tests' ``env`` (``ProbeEnv``)
    ``scoring.py``    every test file run against the probe, failing closed (``score``)
    ``verdict.py``    the trusted verdict (``Scored``) in place of Otter's results, the flags
    ``unpickle.py``   nothing of the upload unpickled: deletion and an allow-list for Otter's results
    ``kernel.py``     what Otter's run in the notebook's kernel may see (public tests only)
    ``plugin.py``     the Otter plugin (``TrustedScoring``): each event handed to the modules above
    ``local.py``      the entry point of local grading (``make grade-one``, ``make grade``, benchmarks)
    ``upstream.py``   what a dependent should answer on the student's own upstream function
    ``hidden/``       the hidden tests, one module per act, the mistakes table, their scaffold
"""

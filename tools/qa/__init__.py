"""The project's own quality tools: how well the tests catch mistakes, and what grading costs.

- :mod:`tools.qa.mutation_corpus`: plausible wrong (and correct-but-different) implementations, as data;
- :mod:`tools.qa.mutation_runner`: grades that corpus through the real bundle (``make mutants``);
- :mod:`tools.qa.public_mutation_corpus` and :mod:`tools.qa.public_mutation_runner`: the same for the
  public checks alone, in-process;
- :mod:`tools.qa.notebooks`: submission variants of the solution notebook (for the corpora, the
  benchmarks and the tests);
- :mod:`tools.qa.bench_grading`, :mod:`tools.qa.bench_hidden`, :mod:`tools.qa.bench_trusted`: what
  grading costs (``make bench-grade``, ``make bench-hidden``, ``make bench-trusted``).
"""

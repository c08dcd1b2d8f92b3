"""Building: ``assignment/`` in, ``student/``, ``autograder/`` and ``solutions/`` out (``make``).

- :mod:`tools.build.pipeline`: the build's stages, in order (``python -m tools.build``);
- :mod:`tools.build.reference`: the reference module, extracted from the master's ``reference`` cells;
- :mod:`tools.build.normalize`: every output made byte-stable (zip timestamps, cell ids, metadata);
- :mod:`tools.build.handout`: the executed solution without Otter's markers and cells, to hand out;
- :mod:`tools.build.pins`: the lock turned into the bundle's and the students' requirements (``make lock``);
- :mod:`tools.build.check_python`: the interpreter check ``make`` runs before it makes ``.venv``;
- :mod:`tools.build.leakcheck`: the scan of ``student/`` for what only the autograder may hold.
"""

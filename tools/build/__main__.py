"""``python -m tools.build [--out DIR]``: the build (:mod:`tools.build.pipeline`)."""

import sys

from tools.build.pipeline import main

sys.exit(main())

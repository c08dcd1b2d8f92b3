"""The hidden tests under the name the bundle's test files import them by (autograder only).

The master notebook's hidden test cells call ``lab05_hidden.test_<name>(env)``, and the executed
solution notebook records those cells, so that name stays; the tests themselves are the package
``lab05_autograder.hidden``. Like the package, this module ships in the bundle's ``files/`` only,
and the plugin deletes it from the folder of Otter's run in the notebook's kernel.
"""

from lab05_autograder.hidden import *  # noqa: F403
from lab05_autograder.hidden import __all__  # noqa: F401

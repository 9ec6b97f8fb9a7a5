"""``python -m neurotools`` is the ``neurotools`` command."""

import sys

from neurotools.cli import main

sys.exit(main())

"""``python -m BRTP``: the ``brtp`` command."""

import sys

from BRTP.cli import main

sys.exit(main())

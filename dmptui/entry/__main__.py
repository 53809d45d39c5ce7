"""``python -m dmptui.entry``: the ``dmptui`` command."""

import sys

from dmptui.entry.cli import main

sys.exit(main())

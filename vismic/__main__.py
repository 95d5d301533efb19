"""``python -m vismic``: the same as the ``vismic`` command."""

import sys

from .cli import main

sys.exit(main())

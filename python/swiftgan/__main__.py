"""``python -m swiftgan``: see :mod:`swiftgan.cli`."""

import sys

from swiftgan.cli import main

sys.exit(main())

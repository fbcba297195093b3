"""Entry point for ``python -m model_fetch``."""

import sys

from model_fetch.cli import main

sys.exit(main())

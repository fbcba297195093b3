"""Entry point for ``python -m model_rollout``."""

import sys

from model_rollout.cli import main

sys.exit(main())

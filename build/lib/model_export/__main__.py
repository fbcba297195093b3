"""Entry point for `python -m model_export`.

Typical usage example:

    python -m model_export train --model-base-path models/fashion_mnist
"""

from model_export.cli import main

raise SystemExit(main())

"""Run the TF Serving stand-in: ``python -m tfserving_standin --help``."""

from tfserving_standin.cli import main

raise SystemExit(main())

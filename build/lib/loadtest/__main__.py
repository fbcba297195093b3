"""Entry point for ``python -m loadtest``.

Typical usage example:

    python -m loadtest --help
"""

from loadtest.cli import main

raise SystemExit(main())

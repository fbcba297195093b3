"""Entry point for ``python -m smoke_tests``.

Typical usage example:

    python -m smoke_tests --help
"""

from smoke_tests.cli import main

raise SystemExit(main())

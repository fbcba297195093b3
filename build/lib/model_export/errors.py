"""Error type for problems a user can fix.

Typical usage example:

    raise ExportError("version 3 already exists; pass --version 4 or omit --version")
"""


class ExportError(Exception):
    """A problem with the user's input, with a message that names the fix."""

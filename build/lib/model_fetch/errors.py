"""The one error type of model_fetch: a message that names the problem and the fix."""


class FetchError(RuntimeError):
    """Fetching failed; nothing partial was left in the destination."""

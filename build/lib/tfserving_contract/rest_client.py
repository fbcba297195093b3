"""Minimal TF Serving REST client (``requests`` only) with a deadline per call.

Every request is repeated once, at once, when no answer came back because the
connection failed (refused, reset, closed without a reply): a pod that stops
takes its kept-alive connections down with it, and a predict or a status read is
safe to repeat. An HTTP status, or an answer that timed out, is never repeated.
The reply says how many retries it took.

Typical usage example:

    client = RestClient("http://127.0.0.1:8501", timeout=10)
    reply = client.get(client.model_path("fashion_mnist"))
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util import Retry

logger = logging.getLogger(__name__)


class RetryOnce(Retry):
    """Retry(...) that never repeats a request whose answer timed out."""

    def increment(self, *args: Any, **kwargs: Any) -> Retry:
        if isinstance(kwargs.get("error"), ReadTimeoutError):
            raise kwargs["error"]
        return super().increment(*args, **kwargs)


def retry_once() -> Retry:
    """One immediate retry on a connection error, for every method (POST too)."""
    return RetryOnce(
        total=1,
        connect=1,
        read=1,
        other=0,
        status=0,
        allowed_methods=None,
        raise_on_status=False,
    )


def retrying_session() -> requests.Session:
    """A Session whose requests follow :func:`retry_once`."""
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry_once())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def retries_of(response: requests.Response) -> int:
    """How many times urllib3 repeated the request that got `response`."""
    retries = getattr(response.raw, "retries", None)
    return len(retries.history) if retries is not None else 0


class TransportError(RuntimeError):
    """The endpoint could not be reached or did not answer in time.

    ``retries`` is how many times the request was repeated before giving up.
    """

    def __init__(self, message: str, retries: int = 0) -> None:
        super().__init__(message)
        self.retries = retries


@dataclass
class RestReply:
    """An HTTP answer: status code, parsed JSON body (or None) and raw text.

    ``retries`` is how many times the request was sent again after a connection
    error before this answer came.
    """

    status: int
    body: Any
    text: str
    retries: int = 0

    def error_text(self) -> str:
        """Returns the TF Serving ``error`` field, or the start of the raw body."""
        if isinstance(self.body, dict) and "error" in self.body:
            return str(self.body["error"])
        return self.text[:300]


class RestClient:
    """Calls TF Serving's REST API under one base URL.

    ``retries`` counts every retry this client made (see :func:`retry_once`).
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        """Creates a client.

        Args:
            base_url: e.g. ``http://127.0.0.1:8501`` (no trailing path).
            timeout: seconds for connecting and for each read.
        """
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = retrying_session()
        self.retries = 0

    @staticmethod
    def model_path(
        model: str, version: int | None = None, label: str | None = None
    ) -> str:
        """Returns ``/v1/models/<m>[/versions/<n>|/labels/<l>]``."""
        path = f"/v1/models/{model}"
        if version is not None:
            path += f"/versions/{version}"
        elif label is not None:
            path += f"/labels/{label}"
        return path

    def _send(self, method: str, path: str, body: Any = None) -> RestReply:
        url = self.base_url + path
        try:
            response = self.session.request(
                method,
                url,
                data=None if body is None else json.dumps(body),
                headers={"Content-Type": "application/json"} if body else None,
                timeout=(self.timeout, self.timeout),
            )
        except requests.RequestException as err:
            # Retries ran out (MaxRetryError); an SSL error is not retried.
            cause = err.args[0] if err.args else None
            retried = isinstance(cause, MaxRetryError) and not isinstance(
                err, requests.exceptions.SSLError
            )
            self.retries += int(retried)
            raise TransportError(f"{method} {url}: {err}", int(retried)) from err
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        retries = retries_of(response)
        self.retries += retries
        logger.debug(
            "%s %s -> %s (%d retries)", method, url, response.status_code, retries
        )
        return RestReply(response.status_code, parsed, response.text, retries)

    def get(self, path: str) -> RestReply:
        """GETs a path under the base URL."""
        return self._send("GET", path)

    def post(self, path: str, body: Any) -> RestReply:
        """POSTs a JSON body to a path under the base URL."""
        return self._send("POST", path, body)

    def close(self) -> None:
        """Closes pooled connections."""
        self.session.close()

"""Minimal TF Serving REST client (``requests`` only) with a deadline per call.

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

logger = logging.getLogger(__name__)


class TransportError(RuntimeError):
    """The endpoint could not be reached or did not answer in time."""


@dataclass
class RestReply:
    """An HTTP answer: status code, parsed JSON body (or None) and raw text."""

    status: int
    body: Any
    text: str

    def error_text(self) -> str:
        """Returns the TF Serving ``error`` field, or the start of the raw body."""
        if isinstance(self.body, dict) and "error" in self.body:
            return str(self.body["error"])
        return self.text[:300]


class RestClient:
    """Calls TF Serving's REST API under one base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        """Creates a client.

        Args:
            base_url: e.g. ``http://127.0.0.1:8501`` (no trailing path).
            timeout: seconds for connecting and for each read.
        """
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

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
            raise TransportError(f"{method} {url}: {err}") from err
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        logger.debug("%s %s -> %s", method, url, response.status_code)
        return RestReply(response.status_code, parsed, response.text)

    def get(self, path: str) -> RestReply:
        """GETs a path under the base URL."""
        return self._send("GET", path)

    def post(self, path: str, body: Any) -> RestReply:
        """POSTs a JSON body to a path under the base URL."""
        return self._send("POST", path, body)

    def close(self) -> None:
        """Closes pooled connections."""
        self.session.close()

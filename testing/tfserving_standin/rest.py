"""TF Serving's HTTP/REST API for the stand-in, on aiohttp.

Routes, regular expressions, status mapping and bodies follow
model_servers/http_server.cc, http_rest_api_handler.cc and
http_rest_api_util.cc: ``/v1/models/<m>[/versions/<n>|/labels/<l>]`` with
``:predict``, ``:classify``, ``:regress`` (POST) or ``/metadata`` (GET), errors
as ``{"error": "..."}``, and the Prometheus page when monitoring enables it.

Typical usage example:

    app = build_app(manager, options, prometheus_settings, executor)
"""

import asyncio
import logging
import re
import time
import urllib.parse
from concurrent.futures import Executor

from aiohttp import web

from tfserving_standin import json_tensor, metrics
from tfserving_standin.config import PrometheusSettings, ServerOptions
from tfserving_standin.errors import Code, ServingError, http_status
from tfserving_standin.jsonwriter import error_body
from tfserving_standin.manager import ModelManager
from tfserving_standin.responses import (
    metadata_json,
    metadata_response,
    status_json,
)
from tfserving_standin.servable import check_classify_regress

logger = logging.getLogger(__name__)

# The regular expressions of http_rest_api_util.h / .cc: case-insensitive, but
# HttpRestApiHandler::ProcessRequest then compares the captured API and
# sub-resource with lower-case literals, so ":PREDICT" is a malformed request
# and "/METADATA" asks for the model status. RE2's \d is ASCII only.
_V1_RE = re.compile(r"(?i)/v1/.*")
_PREDICT_RE = re.compile(
    r"(?i)/v1/models/([^/:]+)(?:(?:/versions/([0-9]+))|(?:/labels/([^/:]+)))?"
    r":(classify|regress|predict)"
)
_STATUS_RE = re.compile(
    r"(?i)/v1/models(?:/([^/:]+))?(?:(?:/versions/([0-9]+))|(?:/labels/([^/:]+)))?"
    r"(?:/(metadata))?"
)
_POST_APIS = ("classify", "regress", "predict")
_NOT_FOUND_PAGE = (
    "<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n"
    "<H1>Not Found</H1>\n</BODY></HTML>\n"
)
_INT64_MAX = 2**63 - 1


class RestHandler:
    """Processes /v1 requests against a ModelManager (runs in worker threads)."""

    def __init__(self, manager: ModelManager, options: ServerOptions) -> None:
        self.manager = manager
        self.options = options

    def process(self, method: str, path: str, body: bytes) -> tuple:
        """HttpRestApiHandler::ProcessRequest.

        Returns:
            (ServingError or None, response text, model name, API method)
        """
        model_name, api = "", ""
        try:
            match = None
            if method == "POST":
                match = _PREDICT_RE.fullmatch(path)
            elif method == "GET":
                match = _STATUS_RE.fullmatch(path)
            groups = match.groups() if match else (None,) * 4
            model_name = urllib.parse.unquote(groups[0] or "")
            version = None
            if groups[1]:
                version = int(groups[1])
                if version > _INT64_MAX:
                    raise ServingError(
                        Code.INVALID_ARGUMENT,
                        f"Failed to convert version: {groups[1]} to numeric.",
                    )
            label = urllib.parse.unquote(groups[2]) if groups[2] else None
        except ServingError as exc:
            return exc, "", model_name, api
        try:
            if match is None:
                raise ServingError(
                    Code.INVALID_ARGUMENT, f"Malformed request: {method} {path}"
                )
            if method == "POST":
                api = groups[3]
                if api not in _POST_APIS:
                    raise ServingError(
                        Code.INVALID_ARGUMENT, f"Malformed request: {method} {path}"
                    )
                if api == "predict":
                    output = self._predict(model_name, version, label, body)
                else:
                    output = self._classify_regress(
                        api, model_name, version, label, body
                    )
            elif groups[3] == "metadata":
                output = self._metadata(model_name, version, label)
            else:
                output = self._status(model_name, version)
        except ServingError as exc:
            return exc, error_body(exc.message), model_name, api
        except Exception as exc:  # a stand-in bug must still answer in JSON
            logger.exception("Unexpected error processing %s %s", method, path)
            error = ServingError(Code.INTERNAL, f"{type(exc).__name__}: {exc}")
            return error, error_body(error.message), model_name, api
        return None, output, model_name, api

    def _predict(self, name: str, version, label, body: bytes) -> str:
        doc = json_tensor.parse_json(body)
        signature_name = json_tensor.signature_name_from_json(doc)
        with self.manager.servable(name, version, label) as servable:
            dtypes = servable.input_dtypes(signature_name)
            inputs, fmt = json_tensor.inputs_from_json(
                doc, dtypes, signature_name, body
            )
            _, outputs = servable.predict(
                signature_name, inputs, (), timeout_ms=self.options.http_timeout_in_ms
            )
        return json_tensor.outputs_to_json(outputs, fmt)

    def _classify_regress(self, method: str, name: str, version, label, body) -> str:
        doc = json_tensor.parse_json(body)
        signature_name = json_tensor.signature_name_from_json(doc)
        examples = doc.get("examples")
        if "examples" not in doc:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"JSON Value: {json_tensor.debug_string(doc)} When method is "
                "classify, key 'examples' is expected and was not found",
            )
        if not isinstance(examples, list):
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"JSON Value: {json_tensor.debug_string(doc)} Expecting 'examples' "
                "value to be an list/array",
            )
        if not examples:
            raise ServingError(
                Code.INVALID_ARGUMENT,
                f"JSON Value: {json_tensor.debug_string(doc)} 'examples' value is "
                "an empty array",
            )
        with self.manager.servable(name, version, label) as servable:
            check_classify_regress(servable, method, signature_name)
        raise ServingError(
            Code.UNIMPLEMENTED,
            f"The TF Serving stand-in does not run {method} signatures",
        )

    def _metadata(self, name: str, version, label) -> str:
        if not name:
            raise ServingError(Code.INVALID_ARGUMENT, "Missing model name in request.")
        with self.manager.servable(name, version, label) as servable:
            return metadata_json(metadata_response(servable))

    def _status(self, name: str, version) -> str:
        if not name:
            raise ServingError(Code.INVALID_ARGUMENT, "Missing model name in request.")
        return status_json(self.manager.model_status(name, version))


def build_app(
    manager: ModelManager,
    options: ServerOptions,
    prometheus: PrometheusSettings,
    executor: Executor,
) -> web.Application:
    """Returns the aiohttp application serving every REST route."""
    handler = RestHandler(manager, options)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        path = request.raw_path.split("?", 1)[0]
        if prometheus.enabled and path == prometheus.path:
            return web.Response(
                body=metrics.REGISTRY.prometheus_page().encode(),
                headers={"Content-Type": "text/plain"},
            )
        if not _V1_RE.fullmatch(path):
            return web.Response(
                status=404, text=_NOT_FOUND_PAGE, content_type="text/html"
            )
        started = time.perf_counter()
        headers = {"Content-Type": "application/json"}
        if options.enable_cors_support:
            headers.update(
                {
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "POST, GET",
                    "Access-Control-Allow-Headers": "Content-Type",
                }
            )
        if request.method == "OPTIONS":
            origin = request.headers.get("Origin", "")
            error = None
            if not re.search(r"https?://", origin):
                error = ServingError(
                    Code.FAILED_PRECONDITION,
                    "Origin header is missing in CORS preflight",
                )
            output, model_name, api = "", "", ""
        else:
            body = await request.read()
            loop = asyncio.get_running_loop()
            error, output, model_name, api = await loop.run_in_executor(
                executor, handler.process, request.method, path, body
            )
        status = Code.OK if error is None else error.code
        if error is None:
            metrics.REGISTRY.record_request_latency(
                model_name, api, "REST", int((time.perf_counter() - started) * 1e6)
            )
        metrics.REGISTRY.record_request(model_name, status.name)
        return web.Response(
            status=http_status(status), body=output.encode(), headers=headers
        )

    app = web.Application(client_max_size=1 << 31)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app

"""The gateway's HTTP API and web page (FastAPI).

    POST /predict   multipart field `file` (JPEG/PNG) -> top-k labels as JSON
    GET  /models    the model's versions, states and the input the gateway builds
    GET  /healthz   200 when a version is AVAILABLE, else 503
    GET  /          upload page

Typical usage example:

    app = create_app(ServingModel(client, "fashion_mnist"), ClassNames(), Limits())
    uvicorn.run(app, port=8080)
"""

from __future__ import annotations

import dataclasses
import logging
from importlib import resources
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.constants import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_TOP_K,
)
from gateway.labels import ClassNames, label
from gateway.preprocess import UnsupportedModel, UploadError, decode, to_tensor
from gateway.serving import ServingModel
from tfserving_contract.grpc_client import GrpcCallError
from tfserving_contract.signature import SignatureError

log = logging.getLogger(__name__)

# TF Serving status codes that mean "the request was bad", not "the server failed".
CLIENT_ERROR_CODES = ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "OUT_OF_RANGE")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Upload limits and the default number of labels returned."""

    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    top_k: int = DEFAULT_TOP_K


def error(status: int, message: str) -> JSONResponse:
    """The one error shape every endpoint uses."""
    return JSONResponse({"error": message}, status_code=status)


def upstream_error(target: str, err: GrpcCallError) -> JSONResponse:
    """A TF Serving failure: 400 for a bad tensor, 502/503 for the server."""
    if err.code in CLIENT_ERROR_CODES:
        return error(400, f"TF Serving rejected the input: {err.code}: {err.details}")
    status = 503 if err.code in ("UNAVAILABLE", "NOT_FOUND") else 502
    # The access log shows only the status; the reason goes to the pod's log.
    log.warning("TF Serving at %s answered %s: %s", target, err.code, err.details)
    return error(
        status,
        f"TF Serving at {target} answered {err.code}: {err.details}; check that the "
        "model server runs and serves the model",
    )


def create_app(model: ServingModel, names: ClassNames, limits: Limits) -> FastAPI:
    """Builds the FastAPI application."""
    app = FastAPI(title="TF Serving gateway", docs_url="/docs", redoc_url=None)
    page = resources.files("gateway").joinpath("static/index.html").read_text("utf-8")
    target = model.client.target

    @app.exception_handler(RequestValidationError)
    def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return error(
            400,
            f"bad request ({fields}): send multipart/form-data with the image in "
            "field 'file' and an optional integer query parameter top_k",
        )

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return page

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            versions = model.versions()
        except GrpcCallError as err:
            return upstream_error(target, err)
        available = [v["version"] for v in versions if v["state"] == "AVAILABLE"]
        if not available:
            return error(503, f"no AVAILABLE version of {model.model_name}: {versions}")
        return JSONResponse({"status": "ok", "available_versions": available})

    @app.get("/models")
    def models() -> JSONResponse:
        try:
            versions = model.versions()
            spec = model.image_spec().describe()
        except GrpcCallError as err:
            return upstream_error(target, err)
        except (SignatureError, UnsupportedModel) as err:
            return error(502, str(err))
        return JSONResponse(
            {
                "model": model.model_name,
                "signature": model.signature_name,
                "versions": versions,
                "input": spec,
                "max_upload_bytes": limits.max_upload_bytes,
            }
        )

    @app.post("/predict")
    def predict(
        file: Annotated[UploadFile, File()],
        top_k: Annotated[int, Query(ge=1, le=1000)] = limits.top_k,
    ) -> JSONResponse:
        data = file.file.read(limits.max_upload_bytes + 1)
        if len(data) > limits.max_upload_bytes:
            return error(
                413,
                f"the upload is larger than {limits.max_upload_bytes} bytes: "
                "send a smaller image",
            )
        try:
            spec = model.image_spec()
            image = decode(data, limits.max_pixels)
            version, scores = model.predict(spec, to_tensor(image, spec, data))
        except UploadError as err:
            return error(err.status, str(err))
        except GrpcCallError as err:
            return upstream_error(target, err)
        except (SignatureError, UnsupportedModel) as err:
            return error(502, f"the served model cannot take images: {err}")
        class_names = names.for_version(version)
        best = np.argsort(-scores, kind="stable")[:top_k]
        return JSONResponse(
            {
                "model": model.model_name,
                "version": version,
                "predictions": [
                    {
                        "label": label(class_names, int(i)),
                        "index": int(i),
                        "score": float(scores[i]),
                    }
                    for i in best
                ],
            }
        )

    return app

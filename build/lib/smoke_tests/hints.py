"""Known TF Serving error strings and the fix for each, kept as data.

Typical usage example:

    for hint in hints.find("Servable not found for request: Latest(x)"):
        print(hint.fix)
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    """A known error: a short key, the regex that recognises it, and the fix."""

    key: str
    pattern: str
    fix: str


HINTS: tuple[Hint, ...] = (
    Hint(
        "servable-not-found",
        r"Servable not found|Could not find any versions of model",
        "The server does not serve this model name/version/label. Check --model "
        "against --model_name or the name in models.config, and that the "
        "requested version or label is loaded.",
    ),
    Hint(
        "version-mismatch",
        r"expected versions \[[\d, ]*\], server serves \[",
        "The model is served, at other versions than expected. Check "
        "--expect-versions against the numeric directories under the base path "
        "and the version policy (the default, latest, serves only the newest; "
        "chart: model.versionPolicy specific/all keeps older ones).",
    ),
    Hint(
        "copied-version",
        r"a plain copy of another version",
        "Publish versions with tfs-export (train, convert, resnet50): it writes "
        "a non-numeric .tmp-<id> directory, checks it and renames it to the "
        "number, so the server never sees a partial version and the metadata "
        "is right. To move a version yourself, copy it under a non-numeric name "
        "on the same volume, then rename it (README: Export models).",
    ),
    Hint(
        "no-versions",
        r"No versions of servable",
        "The base path has no numeric version directory holding saved_model.pb. "
        "Publish <base_path>/<N>/saved_model.pb (N an integer), not the SavedModel "
        "directly under the base path.",
    ),
    Hint(
        "base-path",
        r"Could not find base path",
        "model_base_path does not exist inside the container: check the volume "
        "mount (hostPath/PVC) and the base path in the chart values.",
    ),
    Hint(
        "dtype",
        r"not of expected type|Expects arg\[\d+\] to be \w+ but \w+ is provided|"
        r"Type mismatch: actual \w+ vs\. expect \w+",
        "The request sends values of another dtype than the signature declares. "
        "Read GET /v1/models/<m>/metadata and send that dtype (numbers for "
        'DT_FLOAT, {"b64": ...} for DT_STRING).',
    ),
    Hint(
        "input-name",
        r"does not have named input|Missing named input|Missing but required|"
        r"Sent extra|input size does not match signature|"
        r"Signature input alias: .* not found in request",
        "The request's input names differ from the signature's. Use the input "
        "aliases shown by GET /v1/models/<m>/metadata (e.g. saved_model_cli show "
        "--tag_set serve --signature_def serving_default).",
    ),
    Hint(
        "signature-mismatch",
        r"(inputs|outputs) names differ|(input|output) '.*' (dtype|shape): served",
        "The served signature differs from export_metadata.json: the server runs "
        "another model or version than the sample directory describes. Check "
        "--model-name, --model-base-path/--sample-dir and which version is deployed.",
    ),
    Hint(
        "signature",
        r"serving_default\"? not found|signature key \"?[\w-]+\"? not found",
        "The SavedModel has no such signature. Export with a serving_default "
        "signature (Keras 3: model.export(path)) or pass signature_name.",
    ),
    Hint(
        "grpc-message-size",
        r"(Received|Sent) message larger than max",
        "A gRPC message exceeds the 4 MB default. Raise --max-grpc-message-mb on "
        "the client and grpc.max_receive_message_length/max_send_message_length "
        "via the server's --grpc_channel_arguments (chart value).",
    ),
    Hint(
        "rest-timeout",
        r"Timed out waiting for notification",
        "The REST request outlived --rest_api_timeout_in_ms on the server. Raise "
        "that flag (chart value) above the slowest expected request, or send "
        "smaller batches / use gRPC for large payloads.",
    ),
    Hint(
        "connection-refused",
        r"Connection refused|ECONNREFUSED|failed to connect to all addresses|"
        r"Failed to establish a new connection|Connection reset",
        "Nothing answers at the target. Check the URL/port, that the port-forward "
        "is running, and that the pod is Ready (kubectl get pods; the server "
        "opens its ports only after every model has loaded).",
    ),
    Hint(
        "client-timeout",
        r"Read timed out|connect timeout|DEADLINE_EXCEEDED|Deadline Exceeded",
        "No answer within --timeout. The server may still be loading or "
        "overloaded, or the port accepts connections without speaking HTTP/gRPC; "
        "check the target and raise --timeout if requests are legitimately slow.",
    ),
    Hint(
        "model-load-failed",
        r"FAILED_PRECONDITION|failed to load|Loading servable.*failed",
        "A model version failed to load. Read the server log for the version's "
        "error (corrupt variables, failing warmup, missing ops).",
    ),
)


def find(message: str, hints: tuple[Hint, ...] = HINTS) -> list[Hint]:
    """Returns every hint whose pattern occurs in ``message`` (in table order)."""
    return [h for h in hints if re.search(h.pattern, message, re.IGNORECASE)]

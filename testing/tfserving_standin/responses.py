"""Model status and metadata responses shared by the REST and gRPC front ends.

Typical usage example:

    text = status_json(manager.model_status("m", None))
"""

from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from tfserving_standin.manager import VersionStatus


def _json_options() -> dict:
    return {"always_print_fields_with_no_presence": True, "indent": 1}


def status_response(rows: list[VersionStatus]):
    """Builds a GetModelStatusResponse (versions newest first)."""
    response = get_model_status_pb2.GetModelStatusResponse()
    for row in rows:
        item = response.model_version_status.add()
        item.version = row.version
        item.state = get_model_status_pb2.ModelVersionStatus.State.Value(row.state)
        item.status.SetInParent()
        if row.error is not None:
            item.status.error_code = int(row.error.code)
            item.status.error_message = row.error.message
    return response


def status_json(rows: list[VersionStatus]) -> str:
    """GetModelStatusResponse as TF Serving prints it (proto JSON names)."""
    return json_format.MessageToJson(status_response(rows), **_json_options()) + "\n"


def metadata_response(servable) -> get_model_metadata_pb2.GetModelMetadataResponse:
    """GetModelMetadataImpl: model_spec plus the SignatureDefMap packed in Any."""
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, signature in servable.signature_defs.items():
        signature_map.signature_def[key].CopyFrom(signature)
    response.metadata["signature_def"].Pack(signature_map)
    return response


def metadata_json(response) -> str:
    """ToJsonString(GetModelMetadataResponse) in http_rest_api_util.cc."""
    options = dict(_json_options(), preserving_proto_field_name=True)
    spec = json_format.MessageToJson(response.model_spec, **options)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    signatures = json_format.MessageToJson(signature_map, **options)
    return (
        "{\n"
        f'"model_spec":{spec}\n,\n'
        f'"metadata": {{"signature_def": {signatures}\n}}\n'
        "}\n"
    )

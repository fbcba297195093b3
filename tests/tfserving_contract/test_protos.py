"""The client tools need neither TensorFlow nor tensorflow-serving-api.

Typical usage example:

    .venv/bin/python -m pytest tests/tfserving_contract -q
"""

import pytest

from tests.without_tensorflow import run_python_without_tensorflow
from tfserving_contract import protos


def run_without_tensorflow(code: str) -> str:
    done = run_python_without_tensorflow(code)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_client_tool_imports_and_builds_requests_without_tensorflow():
    out = run_without_tensorflow(
        """\
        import numpy as np
        import gateway.cli, loadtest.cli, loadtest.payload, model_fetch.cli
        import model_rollout.cli, model_rollout.plan, smoke_tests.cli
        from tfserving_contract import tensors
        from tfserving_contract import protos

        request = protos.message("tensorflow.serving.PredictRequest")()
        request.model_spec.name = "m"
        request.inputs["x"].CopyFrom(tensors.to_proto(np.ones((1, 2)), "DT_FLOAT"))
        again = protos.message("tensorflow.serving.PredictRequest").FromString(
            request.SerializeToString()
        )
        print(again.inputs["x"].tensor_shape.dim[1].size, sys.modules.get("tensorflow"))
        """
    )
    assert out.split() == ["2", "None"]


def test_the_descriptor_set_is_complete_and_dependencies_come_first():
    files = protos.file_descriptor_set().file
    names = [file.name for file in files]
    assert len(names) == len(set(names))
    for index, file in enumerate(files):
        assert set(file.dependency) <= set(names[:index]), file.name
    assert "google/protobuf/any.proto" in names
    services = {s.name for f in files for s in f.service}
    assert {"PredictionService", "ModelService"} <= services


def test_the_pool_knows_the_config_and_status_messages():
    config = protos.message("tensorflow.serving.ModelServerConfig")()
    config.model_config_list.config.add(name="m", base_path="/models/m")
    assert protos.enum_value("tensorflow.DataType", "DT_STRING") == 7
    assert (
        protos.enum_name("tensorflow.serving.ModelVersionStatus.State", 30)
        == "AVAILABLE"
    )
    assert protos.enum_name("tensorflow.DataType", 99999) == "99999"


def test_a_damaged_descriptor_set_names_the_fix(monkeypatch):
    monkeypatch.setattr(protos, "DESCRIPTOR_SET", "missing.binpb")
    with pytest.raises(protos.ProtoLoadError, match=r"missing\.binpb.*make protos"):
        protos.file_descriptor_set()

"""The TF Serving STAND-IN's flag table and parser against the pinned release.

The table is hack/data/tf_serving_flags.json (generated from main.cc); the parser
follows tsl::Flags::Parse in xla/tsl/util/command_line_flags.cc of the TensorFlow
that TF Serving 2.20.0 builds with (the tensorflow 2.20.0 wheel's commit). Nothing
here runs TensorFlow Serving itself.

Typical usage example:

    .venv/bin/python -m pytest tests/tfserving_standin/test_flags.py -q
"""

import dataclasses
import json
import math
from pathlib import Path

import pytest

from tfserving_standin import cli, constants
from tfserving_standin.config import ServerOptions

pytestmark = pytest.mark.standin

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCE = REPO_ROOT / "hack" / "data" / "tf_serving_flags.json"
TABLE = json.loads(SOURCE.read_text())["flags"]
OPTION_FIELDS = {f.name: f for f in dataclasses.fields(ServerOptions)}
PYTHON_TYPES = {"bool": bool, "int32": int, "int64": int, "float": float, "string": str}
# Defaults that depend on the machine: the initializer the source states -> value.
MACHINE_DEFAULTS = {
    "4.0 * port::NumSchedulableCPUs()": 4 * constants.SCHEDULABLE_CPUS,
    "port::NumSchedulableCPUs()": constants.SCHEDULABLE_CPUS,
}


def test_the_packaged_flag_table_is_a_copy_of_hack_data():
    assert cli.FLAGS_FILE.read_bytes() == SOURCE.read_bytes()


def test_the_standin_knows_exactly_the_flags_of_the_table_in_main_cc_order():
    assert [flag.name for flag in cli.FLAGS] == list(TABLE)


def test_every_flag_sets_a_server_option_of_its_type():
    assert {flag["field"] for flag in TABLE.values()} == set(OPTION_FIELDS)
    for name, flag in TABLE.items():
        assert OPTION_FIELDS[flag["field"]].type is PYTHON_TYPES[flag["type"]], name


@pytest.mark.parametrize("name", list(TABLE))
def test_standin_defaults_are_the_defaults_the_source_states(name):
    flag = TABLE[name]
    default = getattr(ServerOptions(), flag["field"])
    expected = flag["default"]
    if expected is None:
        expected = MACHINE_DEFAULTS[flag["initializer"]]
    assert default == expected
    assert type(default) is PYTHON_TYPES[flag["type"]]


def test_model_name_and_saved_model_tags_defaults_come_from_the_options_constructor():
    """Regression: the 2.18.0 table said "" for both; server.cc sets them."""
    assert TABLE["model_name"]["default"] == "default"
    assert TABLE["model_name"]["default_source"].startswith("server.cc:")
    assert TABLE["saved_model_tags"]["default"] == "serve"
    assert TABLE["saved_model_tags"]["initializer"] == "tensorflow::kSavedModelTagServe"


def test_every_honoured_flag_is_in_the_table():
    assert cli.HONOURED <= set(TABLE)


def test_a_flag_the_table_lacks_is_an_unknown_argument(monkeypatch, tmp_path):
    """Regression: the 2.18.0 stand-in accepted a flag 2.18.0 did not have."""
    data = json.loads(SOURCE.read_text())
    del data["flags"]["enable_serialization_as_tensor_content"]
    older = tmp_path / "flags.json"
    older.write_text(json.dumps(data))
    monkeypatch.setattr(cli, "FLAGS", cli.load_flags(older))
    parsed = cli.parse_flags(["--enable_serialization_as_tensor_content=true"])
    assert parsed.ok
    assert parsed.unknown == ["--enable_serialization_as_tensor_content=true"]


def test_made_up_flags_are_unknown_and_the_server_still_starts():
    parsed = cli.parse_flags(["--no_such_flag=1", "--enable_batchingX", "-port=1"])
    assert parsed.ok
    assert parsed.unknown == ["--no_such_flag=1", "--enable_batchingX", "-port=1"]


@pytest.mark.parametrize(
    ("arg", "value"),
    [
        ("--enable_batching", True),
        ("--enable_batching=true", True),
        ("--enable_batching=TRUE", True),
        ("--enable_batching=True", True),
        ("--enable_batching=tRuE", True),
        ("--enable_batching=1", True),
        ("--enable_batching=false", False),
        ("--enable_batching=FALSE", False),
        ("--enable_batching=False", False),
        ("--enable_batching=0", False),
    ],
)
def test_bool_flags_take_true_false_in_any_case_and_1_0(arg, value):
    parsed = cli.parse_flags(["--enable_batching=false", arg])
    assert parsed.ok and not parsed.unknown
    assert parsed.options.enable_batching is value


@pytest.mark.parametrize(
    "value", ["", "yes", "no", "on", "t", "f", "01", "00", "2", "-1", " true", "true "]
)
def test_other_bool_values_are_bad_values(value, capsys):
    parsed = cli.parse_flags([f"--enable_batching={value}"])
    assert not parsed.ok
    assert parsed.unknown == []
    assert parsed.options.enable_batching is False
    err = capsys.readouterr().err
    assert f"Couldn't interpret value {value} for flag enable_batching." in err


def test_a_bad_bool_value_exits_255_with_the_usage(capsys):
    assert cli.main(["--enable_model_warmup=yes"]) == 255
    assert "\t--enable_model_warmup=true" in capsys.readouterr().out


def test_a_bool_flag_name_is_not_matched_as_a_prefix_of_a_longer_argument():
    parsed = cli.parse_flags(["--versionX", "--version=0"])
    assert parsed.ok
    assert parsed.unknown == ["--versionX"]
    assert parsed.options.display_version is False


@pytest.mark.parametrize(
    ("arg", "port"),
    [
        ("--port=9000", 9000),
        ("--port=+9000", 9000),
        ("--port= 9000", 9000),
        ("--port=\t9000", 9000),
        ("--port=\v9000", 9000),
        ("--port=0009000", 9000),
        ("--port=2147483648", -2147483648),
        ("--port=99999999999", 1215752191),
    ],
)
def test_int32_values_are_read_like_sscanf_d(arg, port):
    parsed = cli.parse_flags([arg])
    assert parsed.ok and parsed.options.grpc_port == port


@pytest.mark.parametrize("value", ["", "9000 ", "0x10", "9e3", "abc", "9_000"])
def test_other_int_values_are_bad_values(value):
    parsed = cli.parse_flags([f"--port={value}"])
    assert not parsed.ok and parsed.options.grpc_port == 8500


def test_int64_values_saturate_like_sscanf_ld():
    parsed = cli.parse_flags(["--load_retry_interval_micros=9223372036854775808"])
    assert parsed.ok
    assert parsed.options.load_retry_interval_micros == 2**63 - 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [(".5", 0.5), ("1.", 1.0), ("1e-1", 0.10000000149011612), ("0x1p-1", 0.5)],
)
def test_float_values_are_read_like_sscanf_f(value, expected):
    parsed = cli.parse_flags([f"--per_process_gpu_memory_fraction={value}"])
    assert parsed.ok
    assert parsed.options.per_process_gpu_memory_fraction == expected


@pytest.mark.parametrize("value", ["inf", "INF", "infinity", "1e39"])
def test_float_values_overflow_to_infinity(value):
    parsed = cli.parse_flags([f"--per_process_gpu_memory_fraction={value}"])
    assert parsed.ok
    assert math.isinf(parsed.options.per_process_gpu_memory_fraction)


def test_string_flags_need_an_equals_sign():
    parsed = cli.parse_flags(["--model_name", "--model_base_path=/m"])
    assert parsed.unknown == ["--model_name"]
    assert parsed.options.model_name == "default"
    assert parsed.options.model_base_path == "/m"


def test_usage_prints_each_flag_with_its_type_and_default():
    text = cli.usage("tensorflow_model_server")
    assert '\t--model_name="default"' in text
    assert '\t--saved_model_tags="serve"' in text
    assert "\t--load_retry_interval_micros=60000000\tint64\t" in text
    assert "\t--enable_serialization_as_tensor_content=false\tbool\t" in text

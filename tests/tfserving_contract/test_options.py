"""Every tool spells model name, base path, targets, timeout and verbosity alike.

Typical usage example:

    .venv/bin/python -m pytest tests/tfserving_contract/test_options.py -q
"""

import argparse
from pathlib import Path

import pytest

from gateway import cli as gateway_cli
from loadtest import cli as load_cli
from model_export import cli as export_cli
from model_fetch import cli as fetch_cli
from model_rollout import cli as rollout_cli
from smoke_tests import cli as smoke_cli
from tfserving_contract import options

# tool -> (parser factory, arguments every parse needs, sub-command prefix)
TOOLS = {
    "tfs-smoke": (smoke_cli.build_parser, ["--sample-dir", "s"], []),
    "tfs-load": (load_cli.build_parser, [], ["run"]),
    "tfs-gateway": (gateway_cli.build_parser, ["--model-name", "m"], []),
    "tfs-fetch": (
        fetch_cli.build_parser,
        ["--source", "s3://b/m", "--model-base-path", "d"],
        [],
    ),
    "tfs-rollout": (
        rollout_cli.build_parser,
        ["--config-file", "c", "--rest-url", "http://x", "status"],
        [],
    ),
    "tfs-export": (export_cli.build_parser, [], ["train"]),
}
SHARED = {
    "model_name": (["--model-name", "m"], ["--model", "m"], "m"),
    "model_base_path": (["--model-base-path", "p"], ["--base-path", "p"], "p"),
    "grpc_target": (["--grpc-target", "h:1"], ["--tfs-target", "h:1"], "h:1"),
    "timeout": (["--timeout", "3"], ["--deadline", "3"], 3.0),
}
# Which shared options each tool has (fetch names its base path --dest too).
HAS = {
    "tfs-smoke": {"model_name", "grpc_target", "timeout"},
    "tfs-load": {"model_name", "model_base_path", "grpc_target", "timeout"},
    "tfs-gateway": {"model_base_path", "grpc_target", "timeout"},
    "tfs-fetch": {"timeout"},
    "tfs-rollout": {"model_name", "timeout"},
    "tfs-export": {"model_name", "model_base_path"},
}


def parse(tool: str, extra: list[str]) -> argparse.Namespace:
    factory, needed, command = TOOLS[tool]
    top = [a for a in extra if a in ("-v", "--verbose", "--log-level", "DEBUG")]
    rest = [a for a in extra if a not in top]
    return factory().parse_args([*top, *command, *rest, *needed])


@pytest.mark.parametrize(
    ("tool", "dest"), [(t, d) for t, dests in HAS.items() for d in sorted(dests)]
)
def test_the_shared_spelling_and_the_former_one_mean_the_same(tool, dest):
    new, old, value = SHARED[dest]
    expected = Path(value) if dest == "model_base_path" else value
    assert getattr(parse(tool, new), dest) == expected
    assert getattr(parse(tool, old), dest) == expected


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_every_tool_takes_verbose_and_log_level(tool):
    assert parse(tool, ["-v"]).verbose is True
    assert parse(tool, ["--log-level", "DEBUG"]).log_level == "DEBUG"


def test_fetch_names_the_base_path_it_fills_either_way(tmp_path):
    for flag in ("--model-base-path", "--dest"):
        args = fetch_cli.build_parser().parse_args(
            ["--source", "s3://b/m", flag, str(tmp_path)]
        )
        assert args.model_base_path == tmp_path


def test_load_folds_rest_url_and_grpc_target_into_protocol_and_target(tmp_path):
    for flag, protocol in (("--rest-url", "rest"), ("--grpc-target", "grpc")):
        args = load_cli.build_parser().parse_args(
            ["run", flag, "x:1", "--model-name", "m"]
        )
        assert load_cli._resolve_target_and_model(args) is None
        assert (args.protocol, args.target) == (protocol, "x:1")


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (options.positive(float), "0", "must be > 0"),
        (options.positive(int), "x", "is not a number"),
        (options.version_list, "1,x", "comma-separated integers"),
        (options.version_list, "-1", ">= 0"),
    ],
)
def test_validators_name_the_problem(kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        kind(text)


def test_version_list_is_sorted_and_unique():
    assert options.version_list("3,1,3") == [1, 3]

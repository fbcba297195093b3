"""hack/update/tf_serving_flags.py reads flags and defaults from TF Serving's source.

The regeneration check needs a tensorflow/serving clone: set TF_SERVING_GIT_DIR
to its git directory (as for `make flags`), otherwise that test is skipped.

Typical usage example:

    TF_SERVING_GIT_DIR=../serving/.git .venv/bin/python -m pytest \
        tests/hack/test_tf_serving_flags.py -q
"""

import json
import os
import sys
from pathlib import Path

import pytest

from tests.chart.helpers import versions_env

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "hack" / "update"))
import tf_serving_flags  # noqa: E402

sys.path.pop(0)

# A made-up miniature of the three files, in the shapes the generator parses.
MAIN_CC = """\
int main(int argc, char** argv) {
  Server::Options options;
  bool show_it = false;
  std::vector<tensorflow::Flag> flag_list = {
      tensorflow::Flag("port", &options.grpc_port,
                       "first part, "
                       "second part"),
      tensorflow::Flag("name", &options.model_name, "a \\"quoted\\" word"),
      tensorflow::Flag("show", &show_it, "local flag"),
      tensorflow::Flag("wait", &options.wait_micros, "product"),
      tensorflow::Flag("threads", &options.threads, "cpu dependent"),
      tensorflow::Flag("tags", &options.tags, "named constant"),
      tensorflow::Flag("frac", &options.frac, "float")};
  return 0;
}
"""
SERVER_H = """\
class Server {
 public:
  struct Options {
    tensorflow::int32 grpc_port = 8500;
    tensorflow::string model_name;
    int64_t wait_micros = 2LL * 1000;
    tensorflow::int32 threads = 4.0 * port::NumSchedulableCPUs();
    string tags;
    float frac = 0;
    Options();
  };
};
"""
SERVER_CC = """\
Server::Options::Options()
    : model_name("default"),
      tags(tensorflow::kSavedModelTagServe) {}
"""


@pytest.fixture(scope="module")
def flags() -> dict:
    return tf_serving_flags.extract(
        {"main.cc": MAIN_CC, "server.h": SERVER_H, "server.cc": SERVER_CC}
    )


def test_flags_keep_main_cc_order_and_join_help_literals(flags):
    assert list(flags) == ["port", "name", "show", "wait", "threads", "tags", "frac"]
    assert flags["port"]["usage"] == "first part, second part"
    assert flags["name"]["usage"] == 'a "quoted" word'
    assert flags["port"]["flag_source"] == "main.cc:5"


def test_in_class_initializers_are_the_defaults(flags):
    assert flags["port"] | {"usage": None} == {
        "type": "int32",
        "default": 8500,
        "initializer": "8500",
        "default_source": "server.h:4",
        "field": "grpc_port",
        "flag_source": "main.cc:5",
        "usage": None,
    }
    assert (flags["wait"]["type"], flags["wait"]["default"]) == ("int64", 2000)
    assert (flags["frac"]["type"], flags["frac"]["default"]) == ("float", 0.0)


def test_constructor_initializers_override_and_constants_resolve(flags):
    assert flags["name"]["default"] == "default"
    assert flags["name"]["default_source"] == "server.cc:2"
    assert flags["tags"]["default"] == "serve"
    assert flags["tags"]["initializer"] == "tensorflow::kSavedModelTagServe"
    assert flags["tags"]["default_source"] == "server.cc:3"


def test_locals_of_main_and_machine_dependent_defaults(flags):
    assert flags["show"]["field"] == "show_it"
    assert flags["show"]["default_source"] == "main.cc:3"
    assert flags["show"]["default"] is False
    assert flags["threads"]["default"] is None
    assert flags["threads"]["initializer"] == "4.0 * port::NumSchedulableCPUs()"


@pytest.mark.skipif(
    not os.environ.get("TF_SERVING_GIT_DIR"),
    reason="set TF_SERVING_GIT_DIR to a tensorflow/serving git directory",
)
def test_the_committed_flag_list_is_what_the_generator_writes():
    tag = versions_env()["TF_SERVING_VERSION"]
    document = tf_serving_flags.build(Path(os.environ["TF_SERVING_GIT_DIR"]), tag)
    committed = REPO_ROOT / "hack" / "data" / "tf_serving_flags.json"
    assert tf_serving_flags.render(document) == committed.read_text()
    assert json.loads(committed.read_text())["commit"] == document["commit"]

"""Generate hack/data/tf_serving_flags.json from TF Serving's source at a tag.

The flag list (name, value type, help text) comes from the ``flag_list`` in
``tensorflow_serving/model_servers/main.cc``; each flag's default comes from the
variable it binds: a local of ``main()`` or a ``Server::Options`` member, whose
initializer is in ``server.h`` (in-class) or in the ``Options()`` constructor in
``server.cc``. Defaults are recorded as the source states them: the initializer
text, where it is, and its value when it is a compile-time constant (``null``
when it depends on the machine, such as ``port::NumSchedulableCPUs()``).

The chart's tests and the stand-in (testing/tfserving_standin) read this one file;
the stand-in image carries it.

Typical usage example:

    python hack/update/tf_serving_flags.py --git-dir ../serving/.git --tag 2.20.0
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
OUT_FILE = REPO_ROOT / "hack" / "data" / "tf_serving_flags.json"
SOURCE_DIR = "tensorflow_serving/model_servers"
SOURCE_FILES = ("main.cc", "server.h", "server.cc")
URL = "https://github.com/tensorflow/serving/blob/{tag}/" + SOURCE_DIR + "/{file}"

# C++ declared type -> the type name tensorflow::Flags::Usage prints.
_TYPES = {
    "bool": "bool",
    "float": "float",
    "int32": "int32",
    "tensorflow::int32": "int32",
    "int32_t": "int32",
    "int64_t": "int64",
    "tensorflow::int64": "int64",
    "string": "string",
    "std::string": "string",
    "tensorflow::string": "string",
}
# Named constants used as initializers, with their value in TensorFlow
# (tensorflow/cc/saved_model/tag_constants.h).
_CONSTANTS = {"tensorflow::kSavedModelTagServe": "serve"}

_STRING_LITERAL = r'"(?:[^"\\]|\\.)*"'
_FLAG_RE = re.compile(
    r"tensorflow::Flag\(\s*\"(?P<name>\w+)\"\s*,\s*&(?P<owner>options\.)?"
    r"(?P<field>\w+)\s*,(?P<usage>(?:\s*" + _STRING_LITERAL + r")+)\s*\)"
)
_DECL_RE = re.compile(
    r"^\s*(?P<type>[\w:]+)\s+(?P<field>\w+)\s*(?:=\s*(?P<init>[^;]+?))?\s*;"
)
_CTOR_INIT_RE = re.compile(r"(\w+)\((.*?)\)(?=\s*(?:,|\Z))", re.S)


def git_show(git_dir: Path, tag: str, path: str) -> str:
    """Return the text of ``path`` at ``tag`` in the repository ``git_dir``."""
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{tag}:{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def git_commit(git_dir: Path, tag: str) -> str:
    """Return the commit ``tag`` points at."""
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", "rev-parse", f"{tag}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _join_literals(literals: str) -> str:
    """Concatenate adjacent C++ string literals the way the compiler does."""
    parts = re.findall(_STRING_LITERAL, literals)
    return "".join(json.loads(part) for part in parts)


def _block(text: str, opener: str) -> tuple[str, int]:
    """Return the brace block that starts at ``opener`` and its offset."""
    start = text.index(opener)
    depth = 0
    for index in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start : index + 1], start
    raise ValueError(f"unbalanced braces after {opener!r}")


def _declarations(text: str, start_line: int, file: str) -> dict[str, dict]:
    """Map variable name -> {type, init, source} for declarations in ``text``."""
    found = {}
    for number, line in enumerate(text.splitlines(), start=start_line):
        match = _DECL_RE.match(line)
        if match and match["type"] in _TYPES:
            found[match["field"]] = {
                "type": _TYPES[match["type"]],
                "init": match["init"],
                "source": f"{file}:{number}",
            }
    return found


def _constructor_inits(server_cc: str) -> dict[str, dict]:
    """Map member -> {init, source} from the ``Server::Options::Options()`` list."""
    match = re.search(
        r"Server::Options::Options\(\)\s*:(?P<list>.*?)\{\s*\}", server_cc, re.S
    )
    if not match:
        return {}
    found = {}
    for init in _CTOR_INIT_RE.finditer(match["list"]):
        offset = match.start("list") + init.start()
        found[init[1]] = {
            "init": init[2].strip(),
            "source": f"server.cc:{_line_of(server_cc, offset)}",
        }
    return found


def _evaluate(kind: str, init: str | None) -> Any:
    """Return the value of an initializer, or None when it is not a constant."""
    if init is None:
        if kind == "string":
            return ""
        raise ValueError(f"{kind} without an initializer has no defined value")
    text = init.strip()
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    if kind == "string":
        if re.fullmatch(_STRING_LITERAL, text):
            return json.loads(text)
        raise ValueError(f"unknown string initializer {text!r}: add it to _CONSTANTS")
    if kind == "bool":
        return {"true": True, "false": False}[text]
    if "NumSchedulableCPUs" in text:
        return None
    factors = [re.sub(r"(?i)(ll|l|u|f)+$", "", f.strip()) for f in text.split("*")]
    value: float = 1
    for factor in factors:
        value *= float(factor) if kind == "float" else int(factor)
    return float(value) if kind == "float" else int(value)


def extract(sources: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Return the flags of tensorflow_model_server, in main.cc order.

    Args:
        sources: Text of main.cc, server.h and server.cc by file name.

    Returns:
        Flag name -> {type, default, initializer, default_source, field,
        flag_source, usage}.

    Raises:
        ValueError: a flag binds a variable whose declaration is not found.
    """
    main_cc, server_h, server_cc = (sources[name] for name in SOURCE_FILES)
    body, body_at = _block(main_cc, "int main(")
    flag_list_at = body.index("flag_list")
    locals_ = _declarations(body[:flag_list_at], _line_of(main_cc, body_at), "main.cc")
    options, options_at = _block(server_h, "struct Options {")
    members = _declarations(options, _line_of(server_h, options_at), "server.h")
    ctor = _constructor_inits(server_cc)
    flags = {}
    for match in _FLAG_RE.finditer(body, flag_list_at):
        field = match["field"]
        decl = (members if match["owner"] else locals_).get(field)
        if decl is None:
            raise ValueError(f"--{match['name']}: no declaration of {field}")
        init, where = decl["init"], decl["source"]
        if match["owner"] and field in ctor:
            init, where = ctor[field]["init"], ctor[field]["source"]
        flags[match["name"]] = {
            "type": decl["type"],
            "default": _evaluate(decl["type"], init),
            "initializer": init,
            "default_source": where,
            "field": field,
            "flag_source": f"main.cc:{_line_of(main_cc, body_at + match.start())}",
            "usage": _join_literals(match["usage"]),
        }
    return flags


def build(git_dir: Path, tag: str) -> dict[str, Any]:
    """Return the JSON document for TF Serving ``tag`` read from ``git_dir``."""
    sources = {
        name: git_show(git_dir, tag, f"{SOURCE_DIR}/{name}") for name in SOURCE_FILES
    }
    return {
        "description": (
            "Command-line flags of tensorflow_model_server (names, value types, "
            "defaults as the source states them) in the pinned TF Serving release. "
            "Generated by hack/update/tf_serving_flags.py (make flags) from the "
            "flag_list in main.cc and the Options initializers in server.h and "
            "server.cc; default is null when it depends on the machine (see "
            "initializer)."
        ),
        "tf_serving_version": tag,
        "commit": git_commit(git_dir, tag),
        "sources": [URL.format(tag=tag, file=name) for name in SOURCE_FILES],
        "flags": extract(sources),
    }


def render(document: dict[str, Any]) -> str:
    """Serialise the document the way it is committed."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--git-dir",
        type=Path,
        required=True,
        help="git directory of a tensorflow/serving clone that has the tag",
    )
    parser.add_argument("--tag", required=True, help="TF Serving release tag")
    parser.add_argument(
        "--out", type=Path, default=OUT_FILE, help="where to write the JSON"
    )
    args = parser.parse_args(argv)
    args.out.write_text(render(build(args.git_dir, args.tag)))
    print(f"[flags] wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Re-serialise a multi-document YAML stream in the repository's YAML style.

Sequences are indented under their keys, multi-line strings become literal
blocks, key order is kept, and every document starts with ``---``. Used for
generated manifests so they pass yamllint like hand-written files.

Typical usage example:

    helm template x charts/tf-serving | python hack/update/yaml_restyle.py > out.yaml
"""

import argparse
import sys

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents block sequences inside mappings."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def restyle(text: str, header: str = "") -> str:
    """Return ``text`` (YAML documents) re-serialised; empty documents dropped.

    Args:
        text: A YAML stream.
        header: Optional comment line written first.

    Returns:
        The restyled stream.
    """
    parts = [f"# {header}\n"] if header else []
    for doc in yaml.safe_load_all(text):
        if doc is None:
            continue
        body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=100)
        parts.append("---\n" + body)
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Read YAML on stdin, write the restyled YAML to stdout."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--header", default="", help="comment line written first")
    args = parser.parse_args(argv)
    sys.stdout.write(restyle(sys.stdin.read(), args.header))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

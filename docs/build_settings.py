"""Write docs/settings.md from shopai/conf.py: every key, nested ones included, with its true default
and the comment written above it in conf.py. `tests/test_settings_docs.py` fails when the page is
stale, so the reference cannot drift from the code.

    python docs/build_settings.py
"""

from __future__ import annotations

import ast
import io
import pprint
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "shopai" / "conf.py"
PAGE = ROOT / "docs" / "settings.md"

HEADER = """# Settings reference

Everything shopai reads from `settings.SHOPAI`, with its default. Generated from
`shopai/conf.py` by `python docs/build_settings.py` (a test fails when this page is stale).
Sections marked *merged* are merged key by key with your dict: set only what you change,
e.g. `SHOPAI = {"ASSISTANT": {"CONFIDENCE_THRESHOLD": 0.8}}`. Other keys replace the default whole.
"""


def _comments(source: str) -> dict[int, str]:
    return {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }


def _described(lines: list[str], comments: dict[int, str], line: int) -> str:
    """The comment lines right above ``line`` (and one at its end), joined."""
    above = []
    number = line - 1
    while number >= 1 and lines[number - 1].strip().startswith("#"):
        above.insert(0, comments[number])
        number -= 1
    if line in comments and not lines[line - 1].strip().startswith("#"):
        above.append(comments[line])
    return " ".join(above)


def _literal(value) -> str:
    return pprint.pformat(value, width=100, sort_dicts=False)


def render() -> str:
    source = CONF.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    comments = _comments(source)
    sys.path.insert(0, str(ROOT))
    try:
        from shopai.conf import DEFAULTS, MERGED
    finally:
        sys.path.remove(str(ROOT))
    defaults_node = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign | ast.Assign)
        and getattr(node, "target", getattr(node, "targets", [None])[0]).id == "DEFAULTS"
    )
    out = [HEADER]
    for key_node, value_node in zip(defaults_node.keys, defaults_node.values, strict=True):
        key = key_node.value
        value = DEFAULTS[key]
        merged = key in MERGED and isinstance(value, dict)
        out.append(f"\n## `{key}`{' (merged)' if merged else ''}\n")
        description = _described(lines, comments, key_node.lineno)
        if description:
            out.append(description)
        if merged and isinstance(value_node, ast.Dict):
            out.append("\n| key | default | meaning |\n|---|---|---|")
            for sub_node in value_node.keys:
                sub = sub_node.value
                shown = _literal(value[sub]).replace("\n", " ").replace("|", "\\|")
                same_line = sub_node.lineno == key_node.lineno  # written inline: the section says it
                meaning = "" if same_line else _described(lines, comments, sub_node.lineno).replace("|", "\\|")
                out.append(f'| `{key}["{sub}"]` | `{shown}` | {meaning} |')
            out.append("")
        else:
            out.append(f"\n```python\n{_literal(value)}\n```")
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

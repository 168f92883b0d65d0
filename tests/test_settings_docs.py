"""docs/settings.md is the settings reference: every key of shopai/conf.py with its true default."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from shopai.conf import DEFAULTS, MERGED

ROOT = Path(__file__).resolve().parents[1]


def _builder():
    spec = importlib.util.spec_from_file_location("build_settings", ROOT / "docs" / "build_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_settings_page_is_up_to_date_with_conf_py():
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == _builder().render(), "docs/settings.md is stale: run python docs/build_settings.py"


def test_every_key_and_nested_key_is_documented_with_its_default():
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    builder = _builder()
    for key, value in DEFAULTS.items():
        assert f"## `{key}`" in page, key
        if key in MERGED and isinstance(value, dict):
            for sub, default in value.items():
                shown = builder._literal(default).replace("\n", " ").replace("|", "\\|")
                assert f'| `{key}["{sub}"]` | `{shown}` |' in page, (key, sub)


def _keys_the_code_reads():
    """(section, key) for every ``shopai_settings.SECTION``, ``…["KEY"]`` and ``….get("KEY")`` in shopai/."""
    import ast

    read = set()
    for path in (ROOT / "shopai").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "shopai_settings":
                read.add((node.attr, None))
            section = None
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
                section, key = node.value, node.slice.value
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "get" and node.args:
                argument = node.args[0]
                section, key = node.func.value, argument.value if isinstance(argument, ast.Constant) else None
            if isinstance(section, ast.Attribute) and getattr(section.value, "id", None) == "shopai_settings":
                read.add((section.attr, key))
    return read


def test_every_setting_the_code_reads_has_a_default_and_so_a_documented_entry():
    from shopai.conf import ShopAISettings

    read = {(section, key) for section, key in _keys_the_code_reads() if not hasattr(ShopAISettings, section)}
    assert len(read) >= 40
    host_mappings = {"PRODUCT_FIELDS", "ORDER_FIELDS"}  # a host maps optional keys ("stock", "category")
    missing = sorted(
        f"{section}[{key!r}]" if key else section
        for section, key in read
        if section not in DEFAULTS
        or (key is not None and section in MERGED and section not in host_mappings and key not in DEFAULTS[section])
    )
    assert not missing, missing

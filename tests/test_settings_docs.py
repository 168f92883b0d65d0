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

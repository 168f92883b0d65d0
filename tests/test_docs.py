"""The docs stay true to the code: links resolve, every command and every system check is documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_every_relative_link_in_the_docs_points_at_a_file():
    broken = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page in PAGES
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if "://" not in target and not (page.parent / target).exists()
    ]
    assert not broken, broken


def test_every_management_command_is_in_the_install_page():
    page = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    commands = [path.stem for path in (ROOT / "shopai" / "management" / "commands").glob("shopai_*.py")]
    assert len(commands) >= 10
    assert not [name for name in commands if f"manage.py {name}" not in page]


def test_every_system_check_id_is_in_the_install_page():
    page = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    ids = set(re.findall(r"shopai\.[EW]\d{3}", (ROOT / "shopai" / "checks.py").read_text(encoding="utf-8")))
    assert len(ids) >= 8
    assert not sorted(i for i in ids if f"`{i}`" not in page)

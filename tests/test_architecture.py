"""The import rules hold, and the tool that checks them fails on a violation."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_conf_imports_nothing_of_shopai():
    tree = ast.parse((ROOT / "shopai" / "conf.py").read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "__future__")
    ]
    relative = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
    assert not relative and not [name for name in imported if name and name.split(".")[0] == "shopai"]


def test_a_contract_violation_fails_lint_imports(tmp_path):
    package = tmp_path / "shop"
    (package / "feature").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "conf.py").write_text("from shop import feature  # the violation\n")
    (package / "feature" / "__init__.py").write_text("")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_package = shop\n\n"
        "[importlinter:contract:conf]\nname = conf imports nothing\ntype = forbidden\n"
        "source_modules = shop.conf\nforbidden_modules = shop.feature\n"
    )
    command = [shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"]

    broken = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)})
    (package / "conf.py").write_text("SETTINGS = {}\n")
    kept = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)})

    assert broken.returncode == 1 and "BROKEN" in broken.stdout and "shop.conf -> shop.feature" in broken.stdout
    assert kept.returncode == 0, kept.stdout + kept.stderr


def test_the_models_match_the_migrations(db):
    """Moving code between modules never changes the schema: no migration is waiting to be made."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # exits non-zero when one is missing
    assert "No changes detected" in out.getvalue()


def test_every_task_a_service_queues_by_name_is_registered():
    """Services queue tasks by name (importing the tasks module back would be a circle): a renamed task fails here."""
    from celery import current_app

    names = set()
    for path in (ROOT / "shopai").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "queue_task" and node.args:
                names.add(node.args[0].value)
    assert len(names) >= 5, names  # products, FAQs, phrasings, profiles, copy jobs
    assert not names - set(current_app.tasks), names - set(current_app.tasks)

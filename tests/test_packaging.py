"""shopai installs on its own: the wheel holds every file of the package, declares what it imports,
and a host that installs it (without the demo around it) passes Django's checks."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FILES = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md")


def _package_tree() -> list[str]:
    """The files of shopai/ that the repository holds (git's list, else the folder without caches)."""
    # Tracked files and new ones not ignored: what a commit of this working tree would hold.
    command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "shopai"]
    listed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if listed.returncode == 0 and listed.stdout.strip():
        return sorted(set(listed.stdout.split()))
    return sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "shopai").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the package's files only (nothing else of the repository)."""
    source = tmp_path_factory.mktemp("source")
    for name in [*PACKAGE_FILES, *_package_tree()]:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("shopai-*.whl")
    return built


def test_the_wheel_holds_every_file_of_the_package_and_nothing_else(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    packaged = sorted(name for name in names if name.startswith("shopai/"))
    assert packaged == _package_tree()
    assert any(name.endswith("generationjob/change_form.html") for name in packaged)  # a template two folders down
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A clean venv with the wheel installed --no-deps, next to this environment's libraries (read after its own)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.check_output([str(python), "-c", purelib], text=True).strip())
    (site / "zz_outer_libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _run(
    python: Path, code: str, *, cwd: Path, settings: str, path: list[Path], **extra_env
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")}
    environment.update(DJANGO_SETTINGS_MODULE=settings, PYTHONPATH=os.pathsep.join(map(str, path)), **extra_env)
    return subprocess.run([str(python), "-c", code], cwd=cwd, env=environment, capture_output=True, text=True)


def test_the_wheel_installs_into_a_clean_venv_and_a_minimal_host_passes_the_checks(installed, tmp_path):
    """Installed with --no-deps next to the libraries it needs (this environment's, read after its own)."""
    python, venv = installed, installed.parents[1]
    host = tmp_path / "host"
    (host / "shop").mkdir(parents=True)
    (host / "shop" / "__init__.py").write_text("")
    (host / "shop" / "models.py").write_text(
        "from django.db import models\n\n\n"
        "class Item(models.Model):\n"
        "    title = models.CharField(max_length=100)\n"
        "    blurb = models.TextField()\n"
        "    price = models.DecimalField(max_digits=8, decimal_places=2)\n"
    )
    (host / "host_settings.py").write_text(
        "SECRET_KEY = 'x'\nUSE_TZ = True\nROOT_URLCONF = 'host_urls'\n"
        "DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'\n"
        "INSTALLED_APPS = ['django.contrib.admin', 'django.contrib.auth', 'django.contrib.contenttypes',\n"
        "    'django.contrib.sessions', 'django.contrib.messages', 'django.contrib.staticfiles',\n"
        "    'rest_framework', 'drf_spectacular', 'shopai', 'shop']\n"
        "MIDDLEWARE = ['django.contrib.sessions.middleware.SessionMiddleware',\n"
        "    'django.contrib.auth.middleware.AuthenticationMiddleware',\n"
        "    'django.contrib.messages.middleware.MessageMiddleware']\n"
        "TEMPLATES = [{'BACKEND': 'django.template.backends.django.DjangoTemplates', 'APP_DIRS': True,\n"
        "    'OPTIONS': {'context_processors': ['django.template.context_processors.request',\n"
        "    'django.contrib.auth.context_processors.auth', 'django.contrib.messages.context_processors.messages']}}]\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'never_connected'}}\n"
        "STATIC_URL = '/static/'\n"
        "SHOPAI = {'PRODUCT_MODEL': 'shop.Item', 'PRODUCT_FIELDS': {'name': 'title', 'price': 'price'},\n"
        "    'PRODUCT_TEXT_FIELDS': ['title', 'blurb']}\n"
    )
    (host / "host_urls.py").write_text(
        "from django.contrib import admin\nfrom django.urls import include, path\n\n"
        "urlpatterns = [path('admin/', admin.site.urls), path('api/shopai/', include('shopai.api.urls')),\n"
        "    path('shopai/', include('shopai.urls'))]\n"
    )
    probe = (
        "import django, shopai\n"
        "django.setup()\n"
        "from django.contrib.staticfiles import finders\n"
        "from django.core.management import call_command\n"
        "from django.template.loader import get_template\n"
        "call_command('check', fail_level='WARNING')\n"
        "get_template('admin/shopai/generationjob/change_form.html')\n"
        "get_template('shopai/chat.html')\n"
        "assert finders.find('shopai/chat.js'), 'static file missing'\n"
        "from shopai.assistant.intents import load_examples\n"
        "from shopai.core.grounding import check_text\n"
        "from shopai.studio import grounding as studio_grounding\n"
        "assert load_examples() and check_text('Waterproof', 'A cotton shirt.').flags\n"
        "assert studio_grounding.check_text is check_text  # the studio's old path still works\n"
        "print(shopai.__file__)\n"
    )
    result = _run(python, probe, cwd=host, settings="host_settings", path=[host])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(str(venv)), (
        result.stdout
    )  # the wheel's copy, not the repository's
    assert "System check identified no issues" in result.stdout + result.stderr


def test_the_installed_wheel_serves_the_django_oscar_example_shop(installed, tmp_path):
    """The oscar example's settings and URLs on the wheel's shopai (no repository on the path): checks pass,
    oscar's and shopai's templates and URLs resolve together."""
    shop = ROOT / "examples" / "oscar_shop"
    probe = (
        "import django, shopai\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.template.loader import get_template\n"
        "from django.urls import reverse\n"
        "call_command('check', fail_level='WARNING')\n"
        "get_template('oscar/catalogue/detail.html'); get_template('shopai/chat.html')\n"
        "print(reverse('customer:order-list'), reverse('shopai:search'))\n"
        "print(shopai.__file__)\n"
    )
    result = _run(
        installed, probe, cwd=tmp_path, settings="oscar_shop.settings", path=[shop],
        DATABASE_URL="postgres://never:connected@127.0.0.1:9/none", REDIS_URL="redis://127.0.0.1:9/0",
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-2] == "/accounts/orders/ /shopai/search/"
    assert lines[-1].startswith(str(installed.parents[1]))  # the wheel's copy, not the repository's


def _declared() -> dict[str, set[str]]:
    """Distribution names per extra ("" for the core dependencies), normalised."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project["optional-dependencies"]}
    return {
        extra: {Requirement(line).name.lower().replace("_", "-") for line in lines} for extra, lines in groups.items()
    }


def test_every_library_shopai_imports_is_a_declared_dependency():
    """Core imports need a core dependency; imports of the model backends may come from an extra."""
    declared = _declared()
    anywhere = set().union(*declared.values())
    providers = importlib.metadata.packages_distributions()
    undeclared = []
    for path in (ROOT / "shopai").rglob("*.py"):
        in_backend = "backends" in path.parts or "contrib" in path.parts  # optional: their extras
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in ("shopai", "__future__"):
                    continue
                names = {name.lower().replace("_", "-") for name in providers.get(top, [top])}
                allowed = anywhere if in_backend else declared[""]
                if not names & allowed:
                    undeclared.append(f"{path.relative_to(ROOT)}: {module} ({', '.join(sorted(names))})")
    assert not undeclared, undeclared


def test_requirements_pin_exact_versions_and_pyproject_gives_ranges():
    """A fresh clone installs what was tested (requirements.txt); a shop installing the package gets ranges."""
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [Requirement(line) for line in lines if line]
    unpinned = [str(r) for r in requirements if len(r.specifier) != 1 or next(iter(r.specifier)).operator != "=="]
    assert not unpinned, f"requirements.txt should pin exact versions: {unpinned}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [d for extra in project["optional-dependencies"].values() for d in extra]
    pinned = [d for d in declared if any(spec.operator == "==" for spec in Requirement(d).specifier)]
    assert not pinned, f"pyproject.toml should give ranges, not pins: {pinned}"

"""DATABASE_URL / REDIS_URL parsing, and the docker-compose file that relies on it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config import embedded
from config.services import EMBEDDED_ENGINE, database_settings, redis_urls

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def _must_not_start() -> Path:
    raise AssertionError("the embedded Redis must not start when REDIS_URL is set")


# --- DATABASE_URL -----------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_postgres_url_becomes_django_database_settings(scheme):
    config = database_settings({"DATABASE_URL": f"{scheme}://shop:s3cret@db.example.com:6543/catalogue"})

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["NAME"] == "catalogue"
    assert config["USER"] == "shop"
    assert config["PASSWORD"] == "s3cret"
    assert config["HOST"] == "db.example.com"
    assert int(config["PORT"]) == 6543


def test_database_url_keeps_connection_age_and_options():
    config = database_settings(
        {"DATABASE_URL": "postgres://u:p%40ss@h/db?sslmode=require", "DATABASE_CONN_MAX_AGE": "0"}
    )

    assert config["PASSWORD"] == "p@ss"
    assert config["OPTIONS"] == {"sslmode": "require"}
    assert config["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize("url", ["sqlite:///db.sqlite3", "mysql://u:p@localhost:3306/shop"])
def test_database_url_that_is_not_postgres_is_refused(url):
    with pytest.raises(ValueError, match="PostgreSQL"):
        database_settings({"DATABASE_URL": url})


@pytest.mark.parametrize("environ", [{}, {"DATABASE_URL": ""}, {"DATABASE_URL": "   "}])
def test_no_database_url_means_the_embedded_server(environ):
    config = database_settings(environ)

    assert config["ENGINE"] == EMBEDDED_ENGINE == "config.embedded_postgres"
    assert config["NAME"] == embedded.DATABASE_NAME
    assert config["HOST"] == ""  # filled in with the socket directory when the server starts


# --- REDIS_URL --------------------------------------------------------------------


def test_redis_url_is_used_for_cache_and_broker():
    urls = redis_urls({"REDIS_URL": "redis://h:6379/1"}, start_embedded=_must_not_start)

    assert urls == {"cache": "redis://h:6379/1", "broker": "redis://h:6379/1"}


def test_unix_socket_redis_url_becomes_a_kombu_socket_broker():
    urls = redis_urls({"REDIS_URL": "unix:///run/redis/redis.sock"}, start_embedded=_must_not_start)

    assert urls["cache"] == "unix:///run/redis/redis.sock"
    assert urls["broker"] == "redis+socket:///run/redis/redis.sock"


@pytest.mark.parametrize("url", ["http://h:6379/0", "memcached://h:11211", "h:6379"])
def test_redis_url_with_another_scheme_is_refused(url):
    with pytest.raises(ValueError, match="REDIS_URL"):
        redis_urls({"REDIS_URL": url}, start_embedded=_must_not_start)


def test_no_redis_url_starts_the_embedded_server_and_uses_its_socket():
    calls = []

    def start_embedded() -> Path:
        calls.append(True)
        return Path("/tmp/shopai-test/redis.sock")

    urls = redis_urls({}, start_embedded=start_embedded)

    assert calls == [True]
    assert urls == {
        "cache": "unix:///tmp/shopai-test/redis.sock",
        "broker": "redis+socket:///tmp/shopai-test/redis.sock",
    }


# --- docker-compose.yml -----------------------------------------------------------


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # the KEY=value form is valid compose too
        environment = dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


APP_SERVICES = ("web", "worker-embeddings", "worker-generation", "worker-default", "beat")


def _command(service) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def test_compose_services_parse_with_the_settings_they_rely_on():
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]

    assert set(services) == {"db", "redis", *APP_SERVICES}
    for name in APP_SERVICES:
        service = services[name]
        for dependency, condition in service["depends_on"].items():
            assert dependency in services, f"{name} depends on undefined service {dependency!r}"
            assert condition == {"condition": "service_healthy"}
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck to wait for"
        assert set(service["depends_on"]) >= {"db", "redis"}

        environment = _environment(service)
        assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert environment["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")  # required, no default
        assert "@db:" in environment["DATABASE_URL"]
        assert environment["REDIS_URL"].startswith("redis://redis:")

    web = _environment(services["web"])
    database = database_settings(web)
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], int(database["PORT"]), database["NAME"]) == ("db", 5432, "shopai")
    assert (database["USER"], database["PASSWORD"]) == (
        services["db"]["environment"]["POSTGRES_USER"],
        services["db"]["environment"]["POSTGRES_PASSWORD"],
    )
    assert database["NAME"] == services["db"]["environment"]["POSTGRES_DB"]

    redis = redis_urls(web, start_embedded=_must_not_start)
    assert redis["broker"].startswith("redis://redis:6379/")
    assert redis["cache"] == redis["broker"]


def test_the_demo_runs_beat_in_a_process_of_its_own():
    """A worker killed with beat inside it orphaned the beat, which kept sending sweeps."""
    from config import demo

    assert "--beat" not in demo.WORKER_COMMAND and "-B" not in demo.WORKER_COMMAND
    assert demo.BEAT_COMMAND[demo.BEAT_COMMAND.index("config") + 1] == "beat"


def test_compose_runs_a_worker_per_queue_beat_alone_and_a_healthcheck_everywhere():
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]

    assert all("healthcheck" in service for service in services.values())
    queues = {}
    for name in ("worker-embeddings", "worker-generation", "worker-default"):
        command = _command(services[name])
        assert command[:4] == ["celery", "-A", "config", "worker"] and "--beat" not in command and "-B" not in command
        queues[name] = command[command.index("--queues") + 1]
        hostname = command[command.index("--hostname") + 1]
        assert hostname == f"{queues[name]}@%h"
        assert f"--destination {queues[name]}@" in services[name]["healthcheck"]["test"][1]  # pings itself
    assert sorted(queues.values()) == ["default", "embeddings", "generation"]
    assert _command(services["beat"])[:4] == ["celery", "-A", "config", "beat"]
    web = services["web"]
    assert "gunicorn config.wsgi:application" in " ".join(_command(web))
    assert "/shopai/health/" in web["healthcheck"]["test"][-1]


def _production(code: str, tmp_path, **extra) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DATABASE_URL": "postgres://never:connected@127.0.0.1:9/none",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        **extra,
    }
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True)


def test_production_serves_static_files_from_the_app_server_and_probes_skip_the_https_redirect(tmp_path):
    """No proxy needed for chat.js or the admin's CSS; the container probe reaches the health page over http."""
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.test import Client\n"
        "call_command('collectstatic', interactive=False, verbosity=0)\n"
        "client = Client(HTTP_HOST='shop.example.com')\n"
        "js = client.get('/static/shopai/chat.js', secure=True)\n"
        "css = client.get('/static/admin/css/base.css', secure=True)\n"
        "page = client.get('/', HTTP_HOST='shop.example.com')\n"
        "probe = Client(HTTP_HOST='127.0.0.1').get('/shopai/health/')\n"
        "print(js.status_code, css.status_code, page.status_code, probe.status_code, probe['Content-Type'])\n"
        "print(b''.join(js.streaming_content)[:40])\n"
    )
    result = _production(code, tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    statuses, first_bytes = result.stdout.strip().splitlines()[-2:]
    js, css, page, probe, content_type = statuses.split()
    assert (js, css) == ("200", "200") and len(first_bytes) > 10
    assert page == "301"  # plain http to the site is redirected to https
    assert probe == "503" and content_type == "application/json"  # no database here: reported, not a 500


def test_make_demo_runs_with_local_settings_though_the_celery_app_defaults_to_production():
    """`python -m config.demo` imports the config package (and its Celery app, whose default is production)
    before the demo's own code runs: the demo's settings must come from the command line, or every
    `manage.py` it starts fails for want of production secrets."""
    # (Run from `make test`, the outer make's variables would make this one print directory lines.)
    outer = ("DJANGO_SETTINGS_MODULE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    env = {key: value for key, value in os.environ.items() if key not in outer}
    shown = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    command = next(line for line in shown if "-m config.demo" in line)
    probe = command.replace(
        "-m config.demo", "-c 'import config.demo, os; print(os.environ[\"DJANGO_SETTINGS_MODULE\"])'"
    )
    shown = subprocess.run(probe, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "config.settings.local"

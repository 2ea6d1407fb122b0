# syntax=docker/dockerfile:1
# The Runtime image, one Dockerfile for every release. Minimal for now: the image issue completes it
# (multi-stage build, non-root user, ONBUILD hooks, labels, entrypoint).
ARG PYTHON_VERSION=3.12
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim-bookworm
FROM ${BASE_IMAGE}
ARG RUNTIME_VERSION
ARG PYTHON_VERSION
ENV ASTRONOMER_RUNTIME_VERSION=${RUNTIME_VERSION} \
    AIRFLOW_HOME=/usr/local/airflow
COPY runtime/locks/${RUNTIME_VERSION}/python${PYTHON_VERSION}.txt /tmp/requirements.txt
COPY pyproject.toml README.md /src/
COPY astronomer_plugins /src/astronomer_plugins
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements.txt \
 && pip install --no-cache-dir --no-deps /src \
 && rm -rf /src /tmp/requirements.txt
WORKDIR ${AIRFLOW_HOME}

"""`docker build .` from the checkout: .dockerignore lets in exactly what the Dockerfile needs.

Built for real with buildah (which reads .dockerignore like docker does) from the repository root,
whose .local holds gigabytes of image storage: the build must work, and its layers must be the
layers of the context `astro-runtime image build` stages (nothing missing, no __pycache__ or other
stray file copied into the image).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from astronomer_runtime.image import build
from astronomer_runtime.image.engine import Buildah, BuildRequest
from astronomer_runtime.image.paths import CONTEXT_ENTRIES, DOCKERFILE
from astronomer_runtime.paths import REPO_ROOT
from tests.runtime.image.conftest import PYTHON

DOCKERIGNORE = REPO_ROOT / ".dockerignore"


def test_every_staged_entry_is_let_in_and_the_checkouts_bulk_is_not() -> None:
    allowed = {line[1:] for line in DOCKERIGNORE.read_text().splitlines() if line.startswith("!")}
    assert allowed == {*CONTEXT_ENTRIES, "runtime/locks/*/python*.txt"}
    lines = DOCKERIGNORE.read_text().splitlines()
    assert lines.index("*") < min(lines.index(f"!{entry}") for entry in CONTEXT_ENTRIES)  # allow-list: deny first
    assert "**/__pycache__" in lines


@pytest.mark.image
def test_build_from_the_checkout_gives_the_staged_contexts_layers(engine: Buildah, release, debian_base: str,
                                                                   base_target_image: str, workdir, ca_bundle) -> None:  # fmt: skip
    """Both builds run back to back (from the layer cache after the session's first build), so an
    edit of the working tree during the session cannot make them differ."""
    spec = build.ImageSpec(release=release, python=PYTHON, base_image=debian_base, target="base",
                           tag="localhost/astronomer/runtime:dockerignore-test")  # fmt: skip
    request = BuildRequest(
        context=REPO_ROOT, dockerfile=DOCKERFILE, tag=spec.image_tag, target="base",
        build_args=build.build_args(spec, created="2026-11-28T00:00:00Z", revision="dockerignore-test"),
        secrets={"ca": ca_bundle},
    )  # fmt: skip
    engine.build(request)
    staged = build.build_image(engine, replace(spec, tag=None), workdir=workdir, ca_bundle=ca_bundle).tag
    assert staged == base_target_image
    from_checkout = engine.inspect(spec.image_tag)["Docker"]["rootfs"]["diff_ids"]
    assert from_checkout == engine.inspect(staged)["Docker"]["rootfs"]["diff_ids"]

"""The exceptions of the image tooling.

ImageError                anything the image tooling raises on purpose (a RuntimeToolError)
 ├─ EngineNotFoundError   no usable container engine (no Docker daemon, no buildah)
 ├─ ImageBuildError       the engine ran and the build failed; carries the end of its output
 └─ BaseImageError        debootstrap is missing, not root, or failed
"""

from __future__ import annotations

from astronomer_runtime.errors import RuntimeToolError


class ImageError(RuntimeToolError):
    """Base of every error the image tooling raises on purpose."""


class EngineNotFoundError(ImageError, LookupError):
    """Neither a Docker engine nor buildah is available."""


class ImageBuildError(ImageError):
    """A build command failed. `output` is the end of what the engine printed."""

    def __init__(self, message: str, output: str = "") -> None:
        self.output = output
        super().__init__(f"{message}\n{output}".rstrip())


class BaseImageError(ImageError):
    """The debootstrap base could not be made."""

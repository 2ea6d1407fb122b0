"""Image tooling: the debootstrap base, image builds with docker or buildah, and image metadata.

The Dockerfile and the files copied into the image live in runtime/image/; this package only
drives engines. Public entry points: `base.make_base`, `build.build_image`, `engine.detect_engine`.
"""

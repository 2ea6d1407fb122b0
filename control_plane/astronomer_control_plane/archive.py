"""The checks a DAG bundle (tar.gz) passes before it is stored.

It is read once as a stream, never extracted here. The rules (roots, paths, links, file types,
member count, unpacked size from the headers, and the decompressed stream counted so that a gzip
bomb or a flood of headers stays small) are the shared ones in astronomer_plugins.bundle_rules,
which the Runtime asks again before it unpacks; this module keeps the reading and the summary.
Each refusal names the member and the reason. Runs in a worker thread (it reads a file).
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from astronomer_control_plane.errors import InvalidArchive, PayloadTooLarge
from astronomer_plugins.bundle_rules import BundleRules, CountedStream, StreamTooLarge, UnpackedTooLarge
from astronomer_plugins.errors import BundleRefused

LIMIT_SETTING = "the control plane's --max-bundle-unpacked-mib"


@dataclass(frozen=True)
class BundleSummary:
    members: int
    unpacked_bytes: int


def check_bundle(path: Path, *, max_unpacked_bytes: int) -> BundleSummary:
    """Read the tar.gz at `path` once; raise InvalidArchive (400) or PayloadTooLarge (413)."""
    rules = BundleRules(max_unpacked_bytes=max_unpacked_bytes, limit_setting=LIMIT_SETTING)
    try:
        with gzip.open(path, "rb") as raw:
            counted = CountedStream(raw, max_unpacked_bytes=max_unpacked_bytes, limit_setting=LIMIT_SETTING)
            with tarfile.open(fileobj=counted, mode="r|") as archive:  # type: ignore[call-overload]
                for member in archive:
                    rules.check(member)
        rules.finish()
    except (UnpackedTooLarge, StreamTooLarge) as exc:
        raise PayloadTooLarge(str(exc), field="body") from None
    except BundleRefused as exc:
        raise InvalidArchive(str(exc), field="body") from None
    except (tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError, OSError) as exc:
        raise InvalidArchive(
            f"the bundle is not a valid tar.gz ({type(exc).__name__}: {exc}); create it with "
            f"`tar -czf bundle.tar.gz dags include plugins`",
            field="body",
        ) from None
    return BundleSummary(members=rules.members, unpacked_bytes=rules.unpacked_bytes)

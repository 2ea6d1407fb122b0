"""packages.txt on the host: the listed Debian packages this machine lacks are named, with the fix."""

from __future__ import annotations

from pathlib import Path

from astronomer_runtime.project.packages import host_note, listed_packages, missing_on_host


def test_listed_packages_read_like_the_image_reads_them(tmp_path: Path) -> None:
    (tmp_path / "packages.txt").write_text("# OS packages\nbash coreutils  # two on a line\n\nlibxml2-dev\n")
    assert listed_packages(tmp_path) == ["bash", "coreutils", "libxml2-dev"]


def test_only_the_missing_ones_are_named(tmp_path: Path) -> None:
    (tmp_path / "packages.txt").write_text("bash\nastro-runtime-no-such-package\n")
    assert missing_on_host(listed_packages(tmp_path)) == ["astro-runtime-no-such-package"]
    note = host_note(tmp_path)
    assert note is not None
    assert "lists astro-runtime-no-such-package, which this host lacks" in note
    assert "apt-get install astro-runtime-no-such-package" in note and "bash" not in note


def test_nothing_to_say_when_everything_is_here_or_nothing_is_listed(tmp_path: Path) -> None:
    assert host_note(tmp_path) is None  # no packages.txt
    (tmp_path / "packages.txt").write_text("bash\n")
    assert host_note(tmp_path) is None

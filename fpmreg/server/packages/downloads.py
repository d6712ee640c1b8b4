"""What the packages domain tells about downloads: a small interface others implement.

`packages` sits below `metrics` (`docs/architecture.md`, "Layers"), so the tarball
routes do not count downloads themselves: they tell a `DownloadListener` which version
the current request serves, and `create_app` wires in the metrics domain's recorder.
"""

from __future__ import annotations

from typing import Protocol


class DownloadListener(Protocol):
    """Told that the current request serves the tarball of a version."""

    def record_id(self, version_id: int) -> None:
        """The current request is the download of the version with this id."""


class NoDownloads:
    """A listener that ignores downloads (an app built without the metrics domain)."""

    def record_id(self, version_id: int) -> None:
        """Ignore it."""

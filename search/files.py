"""One check for every command that writes files: can it write in that folder, asked before
minutes of training or drawing, not after."""

from __future__ import annotations

import time
from pathlib import Path


def writable_folder(folder: Path, flag: str = "--out") -> Path:
    """Create ``folder`` if needed and write a probe file there; a ValueError that names the
    folder and the reason otherwise (a file in the way, no permission, a full disk)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{time.time_ns()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        reason = (
            f"{exc.filename} is a file, not a folder"
            if isinstance(exc, (FileExistsError, NotADirectoryError))
            else exc.strerror
        )
        raise ValueError(
            f"{flag} {str(folder)!r}: cannot write there ({reason}); choose a folder you can write"
        ) from exc
    return folder

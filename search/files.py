"""One check for every command that writes files: can it write in that folder, asked before
minutes of training or drawing, not after."""

from __future__ import annotations

import os
import time
from pathlib import Path


def existing_path(chosen: str | os.PathLike, what: str, origin: str, hint: str) -> Path:
    """``chosen`` as an absolute path that exists, else one error line that names it, where it
    came from (``origin``: a flag or a variable) and ``hint``. Asking whether a path exists
    itself fails for a name too long for the file system or one with a NUL byte (OSError,
    ValueError), which ``Path.exists()`` lets through as a traceback."""
    text = os.fspath(chosen)
    try:
        path = Path(text).expanduser().resolve()
        found = path.exists()
    except (OSError, ValueError, RuntimeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        shown = text if len(text) <= 120 else f"{text[:60]}...{text[-40:]}"
        raise ValueError(
            f"{what} path {shown!r} (from {origin}, {len(text)} characters) cannot be used "
            f"({reason}); {hint}"
        ) from exc
    if not found:
        raise FileNotFoundError(f"{what} not found at {str(path)!r} (from {origin}); {hint}")
    return path


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

"""What every figure shares: a file backend, colours by trial state, and saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures go to files; no display is needed or wanted
import matplotlib.pyplot as plt  # noqa: E402

STATE_COLORS = {
    "COMPLETE": "tab:blue",
    "PRUNED": "tab:orange",
    "FAIL": "tab:red",
    "RUNNING": "tab:gray",
    "WAITING": "tab:gray",
}


def save_figure(fig, path: Path, *, dpi: int = 110, rect=None) -> Path:
    """Lay out, write and close ``fig``; returns ``path``."""
    fig.tight_layout(rect=rect)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def label(value) -> str:
    """A tick label: 0.30000000000000004 -> '0.3', 112.0 -> '112'."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def ordered(values) -> list:
    """Distinct values in natural order (numbers by size, others alphabetically)."""
    distinct = list(dict.fromkeys(values))
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=str)

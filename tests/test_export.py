"""The raw-text export (search/export.py): written whole or not at all, one writer at a time,
and read in batches of bounded size."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from search import export

ROOT = Path(__file__).parent.parent


def test_a_failed_export_leaves_the_previous_model_and_no_partial_file(tmp_path, monkeypatch):
    import keras

    path = tmp_path / "m.keras"
    first = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    export.save(first, path, {"n": 1})
    before = path.read_bytes()

    class Broken(keras.Sequential):
        def save(self, target, *args, **kwargs):
            Path(target).write_bytes(b"half a zip")  # what a crash mid-write leaves
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        export.save(
            Broken([keras.Input((2,)), keras.layers.Dense(1)]), path, {"n": 2}, overwrite=True
        )
    assert path.read_bytes() == before and '"n": 1' in path.with_suffix(".json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.keras"]


def test_an_export_killed_midway_leaves_no_corrupt_model(tmp_path):
    """kill -9 while the model file is being written: the final path holds the previous model
    (it still loads) or nothing, never part of one."""
    import keras

    path = tmp_path / "big.keras"
    code = textwrap.dedent(f"""
        import keras
        from pathlib import Path
        from search import export
        model = keras.Sequential([keras.Input((1000,)), keras.layers.Dense(4000)])  # ~16 MB
        export.save(model, Path({str(path)!r}), {{"n": 2}}, overwrite=True)
    """)
    for previous in (False, True):
        if previous:
            export.save(keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)]), path, {})
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
        deadline, midway = time.monotonic() + 120, False
        while time.monotonic() < deadline and proc.poll() is None and not midway:
            midway = any(p.name.endswith(".partial.keras") for p in tmp_path.iterdir())
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert midway  # killed while the export was being written
        if previous:
            assert keras.models.load_model(path).count_params() == 4  # the old one, whole
        else:
            assert not path.exists() or keras.models.load_model(path).count_params() > 4e6
        path.unlink(missing_ok=True)


def test_a_second_writer_of_the_same_model_is_refused_at_its_start(tmp_path):
    path = tmp_path / "m.keras"
    with export.claimed([path]):
        with pytest.raises(
            ValueError, match=rf"being written by another command \(PID {os.getpid()}\)"
        ):
            with export.claimed([path]):
                pass
    with export.claimed([path]):  # released when the first finished
        pass
    # a writer killed mid-claim: the system released its lock, so the next one goes ahead
    code = (
        "import os, sys, pathlib\n"
        "from search import export\n"
        f"with export.claimed([pathlib.Path({str(path)!r})]):\n"
        "    os._exit(9)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 9
    with export.claimed([path]):
        pass


def test_batches_bound_the_characters_a_batch_holds():
    lengths = [10, 5000, 20, 400_000, 30, 7]
    batches = export.length_batches(lengths, batch_size=3, max_chars=10_000)
    assert sorted(int(i) for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 10_000
    assert [list(b) for b in batches][-1] == [3]  # the longest alone


def test_a_model_without_one_probability_per_review_is_refused(tmp_path):
    import keras

    from search import predict

    text = keras.Input(shape=(), dtype="string")
    vectorize = keras.layers.TextVectorization(vocabulary=["good", "bad"])
    x = keras.layers.Embedding(4, 2)(vectorize(text))
    out = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(x))
    path = tmp_path / "three.keras"
    keras.Model(text, out).save(path)
    with pytest.raises(ValueError, match=r"gives 1 output\(s\) of shape \(3,\), not one prob"):
        predict.load(path)
    assert predict.main([str(path), "good film"]) == 2

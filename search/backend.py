"""TensorFlow, imported once with its C++ start-up chatter hidden.

During import and device discovery, absl and the CUDA probe write straight to file descriptor 2
("All log messages before absl::InitializeLog() ...", "Could not find cuda drivers", "failed call
to cuInit") before ``TF_CPP_MIN_LOG_LEVEL`` applies: every command opened with 5-7 such lines on a
machine without a GPU. The CLIs call ``load`` after parsing their arguments, so ``--help`` stays
instant; the hidden text is shown if the import fails, and ``verbose`` shows it all.
"""

from __future__ import annotations

import os
import sys
import tempfile


def load(verbose: bool = False) -> None:
    """Import TensorFlow and discover its devices, quietly unless ``verbose``."""
    if "tensorflow" in sys.modules:
        return
    if verbose:
        import tensorflow as tf

        tf.config.list_physical_devices()
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as hidden:
        os.dup2(hidden.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        except Exception:  # the hidden text may say why (not for a Ctrl-C)
            os.dup2(saved, 2)
            hidden.seek(0)
            sys.stderr.write(hidden.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)

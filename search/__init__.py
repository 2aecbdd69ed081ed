"""lstm-search: hyperparameter search for Keras LSTM sentiment classifiers on IMDB.

The Python API (``search.api``): ``run_study``, ``results``, ``summary``, ``best_model``,
``classify``, ``report`` and ``ensemble``. Importing ``search`` stays light: TensorFlow loads
when a function needs it.
"""

import os

# Keras 3 runs on TensorFlow here (cuDNN LSTM on GPU). TensorFlow's C++ side logs notices at
# ERROR level that are not errors: on a CPU without AVX-512 the first masked LSTM logs "oneDNN
# supports DT_BOOL only on platforms with AVX-512. Falling back to ..." (this project's CI
# machine); level 3 keeps them out unless the user chose a level. Real failures still raise.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

API = ("run_study", "results", "summary", "best_model", "classify", "report", "ensemble")
__all__ = list(API)


def __getattr__(name: str):
    if name in API:
        from search import api

        return getattr(api, name)
    raise AttributeError(f"module 'search' has no attribute {name!r}")

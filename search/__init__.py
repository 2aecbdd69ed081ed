"""lstm-search: hyperparameter search for Keras LSTM sentiment classifiers on IMDB.

The Python API (``search.api``): ``run_study``, ``results``, ``best_model``, ``classify`` and
``report``. Importing ``search`` stays light: TensorFlow loads when a function needs it.
"""

import os

# Keras 3 runs on TensorFlow here (cuDNN LSTM on GPU); quiet TensorFlow's Python-side logging.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

API = ("run_study", "results", "best_model", "classify", "report")
__all__ = list(API)


def __getattr__(name: str):
    if name in API:
        from search import api

        return getattr(api, name)
    raise AttributeError(f"module 'search' has no attribute {name!r}")

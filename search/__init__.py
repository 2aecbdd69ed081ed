"""lstm-search: hyperparameter search for Keras LSTM sentiment classifiers on IMDB."""

import os

# Keras 3 runs on TensorFlow here (cuDNN LSTM on GPU); quiet TensorFlow's C++ start-up chatter.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

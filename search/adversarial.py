"""Adversarial training on the word embeddings (Miyato, Dai & Goodfellow, ICLR 2017).

``at``: each step also trains on the reviews' embeddings pushed, per review, a small step in the
direction that raises the loss most (the gradient, L2-normalised over the whole review). ``vat``
(virtual adversarial): the step that changes the prediction most, found by one power iteration
on the KL divergence between the clean and the perturbed prediction; it needs no labels, so it
also regularises on reviews whose label is never read.

The perturbation's norm is ``epsilon`` times the RMS of the embedding matrix: with embeddings
normalised to unit variance, as Miyato et al. normalise them, that is their epsilon (5.0), and the
same number means the same relative push for any embedding source and dimension.

The network takes the perturbation as a second input (``search.model.network``); this wrapper
feeds zeros at inference, so evaluation, early stopping and the export see the plain network
(the export rebuilds it without the perturbation input and copies the weights).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

KINDS = ("none", "at", "vat")
# the power iteration's probe, relative to the perturbation: small, for a linearisation, yet big
# enough that float32 predictions move (at the clean point the KL's gradient is zero)
XI = 0.1


def _unit(g):
    """``g`` scaled to unit L2 norm per review (over tokens and embedding dimensions); scaled by
    its largest entry first, so the squares of a tiny gradient do not underflow float32."""
    g = g / (tf.reduce_max(tf.abs(g), axis=[1, 2], keepdims=True) + 1e-30)
    norm = tf.sqrt(tf.reduce_sum(tf.square(g), axis=[1, 2], keepdims=True))
    return g / (norm + 1e-12)


def _kl(p, q):
    """KL(p || q) of Bernoulli predictions, per review."""
    p = tf.clip_by_value(p, 1e-7, 1 - 1e-7)
    q = tf.clip_by_value(q, 1e-7, 1 - 1e-7)
    return tf.reduce_sum(p * tf.math.log(p / q) + (1 - p) * tf.math.log((1 - p) / (1 - q)), -1)


class Adversarial(keras.Model):
    """Trains ``inner`` (a network of tokens and a perturbation of its embeddings) with the
    adversarial loss of ``kind``; called on tokens alone, it is the plain network."""

    def __init__(self, inner: keras.Model, *, kind: str, epsilon: float, **kwargs) -> None:
        super().__init__(name=inner.name, **kwargs)
        if kind not in ("at", "vat"):
            raise ValueError(f"adversarial={kind!r}; expected 'at' or 'vat'")
        self.inner, self.kind, self.epsilon = inner, kind, float(epsilon)
        self.dim = int(inner.inputs[1].shape[-1])
        self.bce = keras.losses.BinaryCrossentropy()
        self.built = True  # the inner network is: its weights are this model's

    @property
    def wants_unlabeled(self) -> bool:
        """VAT also trains on unlabeled reviews when the data has them (``search.fitting``)."""
        return self.kind == "vat"

    def call(self, tokens, training=None):
        return self.inner([tokens, self.zeros(tokens)], training=training)

    def get_layer(self, name=None, index=None):
        return self.inner.get_layer(name, index)

    def zeros(self, tokens):
        shape = ops.shape(tokens)
        return ops.zeros((shape[0], shape[1], self.dim))

    def scale(self):
        """The perturbation's norm: epsilon times the embedding matrix's RMS."""
        table = self.inner.get_layer("embedding").embeddings
        return self.epsilon * tf.stop_gradient(tf.sqrt(tf.reduce_mean(tf.square(table))))

    def perturbation(self, tokens, y, clean):
        """The adversarial perturbation of ``tokens``' embeddings (no gradient flows through)."""
        zeros = self.zeros(tokens)
        if self.kind == "at":
            with tf.GradientTape() as probe:
                probe.watch(zeros)
                loss = self.bce(y, self.inner([tokens, zeros], training=True))
            direction = probe.gradient(loss, zeros)
        else:  # one power iteration from a random direction, on the prediction alone
            start = _unit(tf.random.normal(tf.shape(zeros)))
            d = XI * self.scale() * start
            with tf.GradientTape() as probe:
                probe.watch(d)
                divergence = tf.reduce_mean(
                    _kl(tf.stop_gradient(clean), self.inner([tokens, d], training=True))
                )
            direction = probe.gradient(divergence, d)
            # a review whose prediction did not move keeps the random direction
            flat = tf.reduce_all(tf.equal(direction, 0.0), axis=[1, 2], keepdims=True)
            direction = tf.where(flat, start, direction)
        return tf.stop_gradient(self.scale() * _unit(direction))

    def adversarial_loss(self, tokens, y, clean):
        r = self.perturbation(tokens, y, clean)
        pushed = self.inner([tokens, r], training=True)
        if self.kind == "at":
            return self.bce(y, pushed)
        return tf.reduce_mean(_kl(tf.stop_gradient(clean), pushed))

    def train_step(self, data):
        tokens, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        unlabeled = None
        if isinstance(tokens, tuple | list):  # ((labeled, unlabeled), labels): VAT's pool
            tokens, unlabeled = tokens
        with tf.GradientTape() as tape:
            clean = self(tokens, training=True)
            loss = self.compute_loss(x=tokens, y=y, y_pred=clean, training=True)
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(tokens)[0])
            total = loss + self.adversarial_loss(tokens, y, clean)
            if unlabeled is not None:  # no label exists for these: VAT's loss needs none
                seen = self(unlabeled, training=True)
                total += self.adversarial_loss(unlabeled, None, seen)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(total, weights), weights, strict=True))
        return self.compute_metrics(tokens, y, clean)

"""The NBSVM ensemble member: fitted on the training split only, and its Keras export gives the
probabilities scikit-learn gives, on raw text with punctuation, HTML breaks and accents."""

from __future__ import annotations

import numpy as np
import pytest

from search import export, linear
from search.data import Reviews

POS = ["a wonderful, moving film!", "great acting<br />and a great plot", "loved it: Émile"]
NEG = ["awful... a boring waste", "terrible acting, dull plot", "hated it; dreadful"]


def splits() -> dict[str, Reviews]:
    def reviews(texts, labels):
        return Reviews(list(texts), np.array(labels), [f"{i}_5" for i in range(len(texts))])

    train = reviews(POS * 3 + NEG * 3, [1] * 9 + [0] * 9)
    val = reviews(["a great, moving film", "a dull waste"], [1, 0])
    test = reviews(
        ["Wonderful!  ÉMILE\tacting", "café  trés\u00a0dull<br/>awful", "zygote xylophone"],
        [1, 0, 1],
    )
    return {"train": train, "val": val, "test": test}


def test_the_keras_export_predicts_what_scikit_learn_does():
    data = splits()
    member = linear.fit(data, max_features=1000)
    assert member.val.shape == (2,) and member.test.shape == (3,)
    assert (member.val >= 0.5).tolist() == [True, False]
    model = linear.to_keras(member)
    np.testing.assert_allclose(
        export.predict_texts(model, data["test"].texts), member.test, atol=1e-5
    )
    np.testing.assert_allclose(
        export.predict_texts(model, data["val"].texts), member.val, atol=1e-5
    )


def test_it_learns_from_the_training_split_only_and_refits_on_train_and_val():
    data = splits()
    member = linear.fit(data, max_features=1000)
    assert "wonderful" in member.vocabulary and "wonderful moving film" in member.vocabulary
    assert not {"zygote", "xylophone", "dull waste"} & set(member.vocabulary)  # test's, val's
    assert len(linear.fit(data, max_features=5).vocabulary) == 5
    refit = linear.fit(data, max_features=1000, refit_c=member.C)
    assert refit.C == member.C and refit.val is None and "dull waste" in refit.vocabulary
    assert "zygote" not in refit.vocabulary


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Don't stop!", ["dont", "stop", "dont stop"]),
        ("a<br />b", ["a", "b", "a b"]),
        ("x  y\tz", ["x", "y", "z", "x y", "y z", "x y z"]),
        ("Émile CAFÉ", ["Émile", "cafÉ", "Émile cafÉ"]),  # TF lower-cases ASCII letters only
    ],
)
def test_tokens_are_the_ones_text_vectorization_makes(text, expected):
    import keras

    assert linear.tokens(text) == expected
    layer = keras.layers.TextVectorization(
        standardize="lower_and_strip_punctuation", ngrams=3, output_mode="int"
    )
    layer.adapt([text.replace("<br />", " ")])  # the clean() that predict_texts applies
    assert set(map(str, layer.get_vocabulary())) - {"", "[UNK]"} == set(expected)

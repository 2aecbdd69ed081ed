"""Classify reviews with an exported model.

python -m search.predict models/imdb-trial12.keras "a wonderful, moving film" "dull"
python -m search.predict models/imdb-trial12.keras --file reviews.txt   # one review a line
cat reviews.txt | python -m search.predict models/imdb-trial12.keras --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load(path: Path):
    """The exported model, or a clear error for a path that is not one."""
    import keras

    if not path.is_file():
        raise ValueError(
            f"Model file {str(path)!r} not found; pass a .keras file written by "
            "python -m search.rerun"
        )
    try:
        model = keras.models.load_model(path)
    except Exception as exc:
        raise ValueError(f"{str(path)!r} is not a Keras model file ({exc})") from exc
    if model.inputs[0].dtype != "string":
        raise ValueError(
            f"{str(path)!r} takes {model.inputs[0].dtype} input, not raw text; "
            "use a model exported by python -m search.rerun"
        )
    return model


def probabilities(path: Path, texts: list[str]):
    """P(positive) for each text from the model file at ``path``."""
    from search.export import predict_texts

    return predict_texts(load(path), texts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search.predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", type=Path, help="a .keras file from python -m search.rerun")
    parser.add_argument("texts", nargs="*", help="reviews (default: --file or standard input)")
    parser.add_argument("--file", type=Path, default=None, help="one review a line")
    parser.add_argument("--json", action="store_true", help="JSON lines output")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)

    if args.texts:
        texts = args.texts
    elif args.file is not None:
        if not args.file.is_file():
            print(f"error: --file {str(args.file)!r} not found", file=sys.stderr)
            return 2
        texts = args.file.read_text(encoding="utf-8").splitlines()
    else:
        texts = sys.stdin.read().splitlines()
    texts = [text for text in texts if text.strip()]
    if not texts:
        print(
            "error: no review to classify; pass texts, --file FILE or lines on standard input",
            file=sys.stderr,
        )
        return 2
    try:
        model = load(args.model)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from search.export import predict_texts

    for text, p in zip(texts, predict_texts(model, texts), strict=True):
        label = "positive" if p >= args.threshold else "negative"
        if args.json:
            print(json.dumps({"text": text, "label": label, "probability": round(float(p), 6)}))
        else:
            print(f"{label}\t{p:.4f}\t{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

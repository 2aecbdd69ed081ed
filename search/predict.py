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

from search import backend


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
    from search.export import check_output

    check_output(model, repr(str(path)))
    return model


def probabilities(path: Path, texts: list[str]):
    """P(positive) for each text from the model file at ``path``."""
    from search.export import predict_texts

    return predict_texts(load(path), texts)


def _texts(args: argparse.Namespace) -> list[str]:
    """The reviews: the arguments, else ``--file``, else standard input; text must be UTF-8."""
    if args.texts:
        return args.texts
    if args.file is not None:
        if not args.file.is_file():
            raise FileNotFoundError(f"--file {str(args.file)!r} not found")
        data, where = args.file.read_bytes(), f"--file {str(args.file)!r}"
    else:
        stdin = getattr(sys.stdin, "buffer", None)  # bytes, so a wrong encoding is caught here
        data = stdin.read() if stdin else sys.stdin.read().encode()
        where = "standard input"
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{where} is not UTF-8 text (byte {exc.start}); convert it, e.g. iconv -t UTF-8"
        ) from None


def main(argv: list[str] | None = None) -> int:
    """The command: the library's lines shown on the console while it runs."""
    from search import display

    with display.console():
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m search.predict",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", type=Path, help="a .keras file from python -m search.rerun")
    parser.add_argument("texts", nargs="*", help="reviews (default: --file or standard input)")
    parser.add_argument("--file", type=Path, default=None, help="one review a line")
    parser.add_argument("--json", action="store_true", help="JSON lines output")
    parser.add_argument(
        "--threshold", type=float, default=0.5, help="P(positive) from which a review is positive"
    )
    args = parser.parse_intermixed_args(argv)  # options and texts in any order
    backend.load()
    if not 0.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold {args.threshold}: expected a probability between 0 and 1")
    try:
        texts = _texts(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    empty = sum(1 for text in texts if not text.strip())
    texts = [text for text in texts if text.strip()]
    if empty and texts:
        print(f"note: {empty} empty review(s) skipped: no words to classify", file=sys.stderr)
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
    # run as search.predict, not as __main__, so its log lines come from the 'search' logger the
    # console shows
    from search.predict import main as command

    sys.exit(command())

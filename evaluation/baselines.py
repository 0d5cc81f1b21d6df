"""The TF-IDF nearest-neighbour baseline over the project's own training examples.

If a plain TF-IDF 1-NN picks the right topic as often as the served assistant, the pipeline
loses what the training data knows (issue 7); every held-out figure is reported beside it.
"""

from pathlib import Path
from typing import Any, Dict, Sequence

from evaluation.common import load_examples
from evaluation.metrics import intent_metrics, seen_in_training, subset, top_confusions


def build_baseline():
    """TF-IDF word 1-2-grams + char_wb 2-4-grams, cosine 1-nearest-neighbour."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import FeatureUnion, make_pipeline

    features = FeatureUnion(
        [
            ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=True)),
            ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), lowercase=True)),
        ]
    )
    return make_pipeline(features, KNeighborsClassifier(n_neighbors=1, metric="cosine"))


def evaluate_baseline(
    train_texts: Sequence[str],
    train_labels: Sequence[str],
    test_texts: Sequence[str],
    test_labels: Sequence[str],
) -> Dict[str, Any]:
    model = build_baseline().fit(list(train_texts), list(train_labels))
    predictions = [str(p) for p in model.predict(list(test_texts))]
    return {**intent_metrics(test_labels, predictions), "predictions": predictions}


def run_baseline(nlu_path: Path, holdout: Path) -> Dict[str, Any]:
    train_texts, train_labels = load_examples(nlu_path)
    test_texts, test_labels = load_examples(holdout)
    result = evaluate_baseline(train_texts, train_labels, test_texts, test_labels)
    predictions = result.pop("predictions")
    seen = seen_in_training(test_texts, train_texts)
    result["train_examples"] = len(train_texts)
    result["unseen"] = intent_metrics(subset(test_labels, seen, False), subset(predictions, seen, False))
    result["confusions"] = top_confusions(test_labels, predictions, n=5)
    return result

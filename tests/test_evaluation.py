"""Unit tests for the pure helpers of the evaluation tool (evaluation/; no Rasa model needed)."""

import json
from pathlib import Path

import pytest

import evaluation.evaluate as ev
from evaluation import baselines, common, metrics, nlu, report

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "evaluation"  # the evaluation tool's folder (config_crossval.yml)


# ------------------------------------------------------------------ intent metrics


def test_intent_metrics_perfect():
    m = metrics.intent_metrics(["a", "b", "b"], ["a", "b", "b"])
    assert m == {"n": 3, "accuracy": 1.0, "macro_f1": 1.0}


def test_intent_metrics_macro_f1_over_true_labels_like_rasa():
    # nlu_fallback is never a target: it lowers recall of "b" but gets no F1 row itself.
    m = metrics.intent_metrics(["a", "a", "b", "b"], ["a", "a", "b", "nlu_fallback"])
    assert m["accuracy"] == pytest.approx(0.75)
    f1_b = 2 * 1.0 * 0.5 / (1.0 + 0.5)
    assert m["macro_f1"] == pytest.approx((1.0 + f1_b) / 2)


def test_intent_metrics_matches_rasa_report():
    from rasa.model_testing import get_evaluation_metrics

    y_true = ["a", "a", "b", "b", "c", "c", "c"]
    y_pred = ["a", "b", "b", "nlu_fallback", "c", "a", "c"]
    report, _, _, accuracy = get_evaluation_metrics(y_true, y_pred, output_dict=True)
    m = metrics.intent_metrics(y_true, y_pred)
    assert m["accuracy"] == pytest.approx(accuracy)
    assert m["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"])


def test_intent_metrics_empty_and_mismatch():
    assert metrics.intent_metrics([], [])["accuracy"] is None
    with pytest.raises(ValueError):
        metrics.intent_metrics(["a"], [])


def test_answered_metrics():
    m = metrics.answered_metrics(["a", "b", "c", "d"], ["a", "nlu_fallback", "x", "d"])
    assert m["fallbacks"] == 1 and m["answered"] == 3
    assert m["fallback_rate"] == pytest.approx(0.25)
    assert m["coverage"] == pytest.approx(0.75)
    assert m["answered_accuracy"] == pytest.approx(2 / 3)


def test_answered_metrics_all_fallback():
    m = metrics.answered_metrics(["a"], ["nlu_fallback"])
    assert m["answered_accuracy"] is None and m["fallback_rate"] == 1.0


def test_label_recall():
    r = metrics.label_recall(
        ["red_flag", "red_flag", "a", "b"], ["red_flag", "nlu_fallback", "red_flag", "b"], "red_flag"
    )
    assert (r["support"], r["found"], r["recall"], r["false_positives"]) == (2, 1, 0.5, 1)
    assert metrics.label_recall(["a"], ["a"], "red_flag")["recall"] is None


def test_top_confusions_orders_by_count_then_name_and_skips_fallback():
    y_true = ["a", "a", "a", "b", "b", "c", "c"]
    y_pred = ["b", "b", "a", "a", "nlu_fallback", "a", "c"]
    texts = ["t1", "t2", "t3", "t4", "t5", "t6", "t7"]
    got = metrics.top_confusions(y_true, y_pred, texts, n=15)
    assert [(c["true"], c["predicted"], c["count"]) for c in got] == [
        ("a", "b", 2),
        ("b", "a", 1),
        ("c", "a", 1),
    ]
    assert got[0]["example"] == "t1"
    assert len(metrics.top_confusions(y_true, y_pred, texts, n=1)) == 1


def test_counts_by_true_label():
    got = metrics.counts_by_true_label(["a", "b", "b", "c"], ["nlu_fallback"] * 3 + ["c"])
    assert got == [("b", 2), ("a", 1)]


def test_mean_sd():
    s = metrics.mean_sd([0.8, 0.9, 1.0])
    assert s["mean"] == pytest.approx(0.9)
    assert s["sd"] == pytest.approx(0.1)
    assert metrics.mean_sd([0.5])["sd"] is None
    assert metrics.mean_sd([])["mean"] is None
    assert report.fmt_pm(s) == "0.900 ± 0.100"


# ------------------------------------------------------------------ baseline


def test_baseline_nearest_neighbour_handles_typos_and_word_order():
    train = ["what is the gluteus medius", "how do i do the crab walk", "book an appointment"]
    labels = ["gluteus_medius", "exercise_crab_steps", "appointment"]
    model = baselines.build_baseline().fit(train, labels)
    assert list(model.predict(["whats the gluteous medius", "crab walk how", "can i book"])) == [
        "gluteus_medius",
        "exercise_crab_steps",
        "appointment",
    ]


def test_evaluate_baseline_scores_on_test_set():
    result = baselines.evaluate_baseline(
        ["hello there", "bye for now"],
        ["greet", "goodbye"],
        ["hello", "bye bye", "hello"],
        ["greet", "goodbye", "goodbye"],
    )
    assert result["predictions"] == ["greet", "goodbye", "greet"]
    assert result["accuracy"] == pytest.approx(2 / 3)


# ------------------------------------------------------------------ red flags


CASES = [
    {"text": "e1", "expect": "emergency", "flags": ["bladder_bowel"]},
    {"text": "e2", "expect": "emergency", "flags": ["saddle_numbness"]},
    {"text": "u1", "expect": "urgent", "flags": ["fever"]},
    {"text": "u2", "expect": "urgent", "flags": ["night_pain"]},
    {"text": "u3", "expect": "urgent", "flags": ["fever"]},
    {"text": "n1", "expect": "none", "flags": []},
    {"text": "n2", "expect": "none"},
]
DETECTED = [
    ("emergency", ["bladder_bowel"]),  # exact
    ("urgent", ["fever"]),  # escalated, but under-triaged and wrong flag
    ("emergency", ["fever", "saddle_numbness"]),  # over-triaged: found, not exact
    (None, []),  # missed
    ("urgent", ["fever"]),  # exact
    (None, []),  # quiet: fine
    ("urgent", ["night_pain"]),  # false alarm
]


def test_redflag_metrics_tiers():
    m = metrics.redflag_metrics(CASES, DETECTED)
    e, u = m["tiers"]["emergency"], m["tiers"]["urgent"]
    assert (e["n"], e["found"], e["exact"], e["escalated"]) == (2, 1, 1, 2)
    assert e["recall"] == pytest.approx(0.5)
    assert (u["n"], u["found"], u["exact"], u["escalated"]) == (3, 2, 1, 2)
    assert u["recall"] == pytest.approx(2 / 3)
    assert u["exact_recall"] == pytest.approx(1 / 3)


def test_redflag_metrics_flags_and_false_alarms():
    m = metrics.redflag_metrics(CASES, DETECTED)
    assert (m["flags_expected"], m["flags_found"]) == (5, 3)
    assert m["per_flag"]["fever"] == {"found": 2, "missed": 0}
    assert m["per_flag"]["saddle_numbness"] == {"found": 0, "missed": 1}
    assert (m["none_cases"], m["false_alarms"]) == (2, 1)
    assert m["false_alarm_rate"] == pytest.approx(0.5)
    assert [x["text"] for x in m["misses"]] == ["e2", "u1", "u2", "n2"]


def test_redflag_metrics_rejects_unknown_tier_and_length_mismatch():
    with pytest.raises(ValueError):
        metrics.redflag_metrics(CASES[:1], [("critical", [])])
    with pytest.raises(ValueError):
        metrics.redflag_metrics(CASES, DETECTED[:2])


def test_load_redflag_cases(tmp_path):
    good = tmp_path / "good.yml"
    good.write_text("version: 1\ncases:\n  - {text: can't wee, expect: emergency, flags: [bladder_bowel]}\n")
    assert common.load_redflag_cases(good)[0]["flags"] == ["bladder_bowel"]
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\ncases:\n  - {text: hi, expect: maybe}\n")
    with pytest.raises(ValueError):
        common.load_redflag_cases(bad)


# ------------------------------------------------------------------ outputs


def test_plot_confusion_matrix_puts_fallback_last(tmp_path):
    path = tmp_path / "cm.png"
    labels = nlu.plot_confusion_matrix(["b", "a", "c"], ["a", "a", "nlu_fallback"], path, "t")
    assert labels == ["a", "b", "c", "nlu_fallback"]
    assert path.stat().st_size > 1000


def test_render_markdown_with_failed_and_skipped_steps():
    summary = {
        "date": "2024-01-01 00:00",
        "rasa_version": "3.6.21",
        "model": "`models/x.tar.gz`",
        "nlu": "data/nlu",
        "holdout": "tests/nlu/holdout.yml",
        "redflags": "tests/redflags/holdout.yml",
        "steps": {
            "holdout": {"status": "failed", "error": "no model", "seconds": 0},
            "crossval": {"status": "skipped", "error": "--skip-crossval", "seconds": 0},
            "baseline": {
                "status": "ok",
                "seconds": 1.0,
                "result": {"accuracy": 0.5, "macro_f1": 0.4, "n": 2},
            },
            "redflags": {
                "status": "ok",
                "seconds": 2.0,
                "result": {"rules": "content/red_flags.yml", **metrics.redflag_metrics(CASES, DETECTED)},
            },
        },
        "total_seconds": 3.0,
    }
    text = report.render_markdown(summary)
    assert "| Held-out intent accuracy (Rasa report) | n/a |" in text
    assert "TF-IDF 1-NN baseline accuracy (Rasa − baseline) | 0.500 (n/a)" in text
    assert "**holdout**: failed: no model" in text
    assert "| emergency | 2 | 0.500 (1) |" in text
    assert "## Timings" in text
    json.dumps(summary)  # the summary stays JSON-serialisable
    assert report.headline(summary)  # stdout lines render without the missing steps


def test_tier_and_flags():
    assert report.tier_and_flags(None, []) == "none"
    assert report.tier_and_flags("urgent", ["fever", "dvt"]) == "urgent: fever, dvt"


def test_served_red_flag_metrics():
    served = ["red_flag", "nlu_fallback", "red_flag", "exercises", "red_flag", "greet", "red_flag"]
    m = metrics.served_red_flag_metrics(CASES, served)
    assert (m["flagged"], m["served_red_flag"], m["served_fallback"]) == (5, 3, 1)
    assert m["recall"] == pytest.approx(0.6)
    assert m["missed_as"] == {"nlu_fallback": 1, "exercises": 1}
    assert (m["none_cases"], m["none_served_red_flag"]) == (2, 1)


def test_render_markdown_with_all_steps():
    y_true = ["a", "a", "b", "red_flag"]
    y_pred = ["a", "nlu_fallback", "a", "red_flag"]
    holdout = {
        "n": 4,
        "intents": 3,
        "rasa_report": {"accuracy": 0.75, "macro_f1": 0.7, "weighted_f1": 0.7},
        "as_served": metrics.intent_metrics(y_true, y_pred),
        "answered": metrics.answered_metrics(y_true, y_pred),
        "red_flag_intent": metrics.label_recall(y_true, y_pred, "red_flag"),
        "confusions": metrics.top_confusions(y_true, y_pred, ["t1", "t2", "t|3", "t4"]),
        "fallbacks_by_intent": metrics.counts_by_true_label(y_true, y_pred),
        "weakest_intents": [{"intent": "b", "f1": 0.0, "support": 1}],
        "red_flag_cases_served": metrics.served_red_flag_metrics(CASES, ["red_flag"] * 7),
        "seen_in_training": 1,
        "unseen": {"rasa": metrics.intent_metrics(y_true[1:], y_pred[1:])},
    }
    crossval = {
        "folds": 2,
        "seed": 42,
        "examples": 10,
        "intents": 3,
        "epochs": 20,
        "configured_epochs": 80,
        "accuracy": metrics.mean_sd([0.8, 0.9]),
        "macro_f1": metrics.mean_sd([0.7, 0.8]),
        "pooled_accuracy": 0.85,
        "pooled_macro_f1": 0.75,
        "per_fold": [
            {"fold": 1, "accuracy": 0.8, "macro_f1": 0.7, "seconds": 10.0},
            {"fold": 2, "accuracy": 0.9, "macro_f1": 0.8, "seconds": 11.0},
        ],
    }
    ok = lambda result: {"status": "ok", "seconds": 1.0, "result": result}  # noqa: E731
    summary = {
        "date": "2024-01-01 00:00",
        "rasa_version": "3.6.21",
        "model": "`m`",
        "model_name": "m",
        "nlu": "data/nlu",
        "holdout": "h.yml",
        "redflags": "r.yml",
        "folds": 2,
        "steps": {
            "holdout": ok(holdout),
            "crossval": ok(crossval),
            "baseline": ok({"accuracy": 0.5, "macro_f1": 0.4, "n": 4}),
            "redflags": ok({"rules": "content/red_flags.yml", **metrics.redflag_metrics(CASES, DETECTED)}),
        },
        "total_seconds": 4.0,
        "cpus": 2,
        "load_average": "1.0",
    }
    text = report.render_markdown(summary)
    assert "| a | b |" not in text and "| b | a | 1 | t\\|3 |" in text
    assert "| Fallback rate (`nlu_fallback`) | 0.250 (1 of 4) |" in text
    assert "| Cross-validation accuracy (2 folds, mean ± sd) | 0.850 ± 0.071 |" in text
    assert "**Quick run:** DIET trained for 20 epochs instead of the configured 80" in text
    assert "(+0.250)" in text  # Rasa minus baseline accuracy
    assert "5/5 flagged cases reach the `red_flag` intent" in text
    assert "| 1 of 4 |" in text
    assert "## Steps not run or failed" not in text
    lines = "\n".join(report.headline(summary))
    assert "1 of 4 held-out messages are also in the training data" in lines
    assert "cross-validation (2 folds): accuracy 0.850 ± 0.071" in lines
    assert "triage recall: emergency 0.500" in lines


def test_seen_in_training_ignores_case_punctuation_and_spacing():
    assert metrics.normalise_text("  What's the  GLUTE med?? ") == "whats the glute med"
    seen = metrics.seen_in_training(
        ["whats the glute med", "Glute med?", "new question"], ["What's the glute med", "glute  med"]
    )
    assert seen == [True, True, False]
    assert metrics.subset(["a", "b", "c"], seen, keep=False) == ["c"]
    assert metrics.subset(["a", "b", "c"], seen) == ["a", "b"]


def test_parse_args_defaults_quick_and_environment(monkeypatch):
    for name in ("FOLDS", "EPOCHS", "QUICK"):
        monkeypatch.delenv(name, raising=False)
    args = ev.parse_args([])
    assert (args.folds, args.epochs) == (5, None)
    args = ev.parse_args(["--quick"])
    assert (args.folds, args.epochs) == (ev.QUICK_FOLDS, ev.QUICK_EPOCHS)
    assert ev.parse_args(["--quick", "--folds", "4"]).folds == 4
    monkeypatch.setenv("FOLDS", "3")
    monkeypatch.setenv("EPOCHS", "40")
    args = ev.parse_args([])
    assert (args.folds, args.epochs) == (3, 40)
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.delenv("EPOCHS")
    assert ev.parse_args([]).epochs == ev.QUICK_EPOCHS
    with pytest.raises(SystemExit):
        ev.parse_args(["--folds", "1"])


# ------------------------------------------------------------------ configs

SERVING_ONLY = {"components.red_flags.RedFlagDetector", "FallbackClassifier", "components.red_flag_head.RedFlagHead"}


def test_crossval_pipeline_is_the_serving_pipeline_without_rules_and_fallback():
    """config_crossval.yml must follow config.yml; only the serving-only components go."""
    import yaml

    serving = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    crossval = yaml.safe_load((HERE / "config_crossval.yml").read_text())["pipeline"]
    assert crossval == [c for c in serving if c["name"] not in SERVING_ONLY]
    assert all("random_seed" in c for c in crossval if c["name"] == "DIETClassifier")


def test_with_epochs_changes_only_diet_epochs(tmp_path):
    import yaml

    # the serving pipeline has no DIET any more (linear topic head); a config that has one
    source = tmp_path / "source" / "config_crossval.yml"
    source.parent.mkdir()
    source.write_text(
        "pipeline:\n  - name: SpacyNLP\n  - name: DIETClassifier\n    epochs: 40\n    random_seed: 42\n"
        "  - name: components.topic_classifier.TopicClassifier\n"
    )
    copy = nlu.with_epochs(source, 7, tmp_path)
    original = yaml.safe_load(source.read_text())
    changed = yaml.safe_load(copy.read_text())
    assert common.pipeline_option(copy, "DIETClassifier", "epochs", None) == 7
    for item in original["pipeline"]:
        if item["name"] == "DIETClassifier":
            item["epochs"] = 7
    assert changed == original
    assert common.pipeline_option(ROOT / "config.yml", "RedFlagDetector", "rules", None)


def test_crossval_leaves_out_red_flag_examples_when_the_head_hides_them(tmp_path):
    assert ev.topic_classifier_excludes(ROOT / "config.yml") == ("red_flag",)
    plain = tmp_path / "config.yml"
    plain.write_text("pipeline:\n  - name: DIETClassifier\n")
    assert ev.topic_classifier_excludes(plain) == ()

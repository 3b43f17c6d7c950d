"""Reads a whisper.cpp ggml model file into an openai-whisper model (fp32, torch).

This is the bridge of the equivalence proof: wisp's tools write random-weight ggml files, this
module loads the very same numbers into openai-whisper's `Whisper` module, so both sides compute
with identical weights. It deliberately shares no code with the C++ loader (an independent reading
of the format is part of what is being checked).

Format (whisper.cpp models/convert-pt-to-ggml.py, little-endian, no alignment padding):
  u32 magic 0x67676d6c; i32 x 11 hparams (ftype = quant_version * 1000 + ggml_ftype);
  i32 n_mels, i32 n_fft, f32 filters[n_mels * n_fft];
  i32 n_tokens, then per token: i32 len, len bytes;
  tensors until EOF: i32 n_dims, i32 name_len, i32 type, i32 ne[n_dims], name, data.
ne[] is ggml's order (innermost first): reversed, it is PyTorch's shape. The converter stores the
conv biases as (n, 1); PyTorch's are (n,).
"""

import struct
from dataclasses import dataclass, field

import numpy as np

GGML_MAGIC = 0x67676D6C
# ggml_type numbers as written in each tensor header.
TYPE_F32, TYPE_F16, TYPE_Q8_0 = 0, 1, 8
TYPE_NAMES = {TYPE_F32: "f32", TYPE_F16: "f16", TYPE_Q8_0: "q8_0"}
QK8_0 = 32  # elements per q8_0 block: one f16 scale, then 32 int8


@dataclass
class GgmlModel:
    hparams: dict
    quant_version: int
    filters: np.ndarray  # (n_mels, 201) float32
    vocab: list  # token bytes, index = id
    tensors: dict = field(default_factory=dict)  # name -> float32 array with PyTorch's shape
    tensor_types: dict = field(default_factory=dict)  # name -> ggml type number


HPARAM_NAMES = [
    "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
    "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype",
]


def dequantize(buf: memoryview, ggml_type: int, n: int) -> np.ndarray:
    """The f32 values of n elements of `ggml_type` (what a dequantizing loader computes)."""
    if ggml_type == TYPE_F32:
        return np.frombuffer(buf, dtype="<f4", count=n).copy()
    if ggml_type == TYPE_F16:
        return np.frombuffer(buf, dtype="<f2", count=n).astype(np.float32)
    if ggml_type == TYPE_Q8_0:
        if n % QK8_0:
            raise ValueError(f"q8_0 tensor of {n} elements is not a whole number of blocks")
        blocks = np.frombuffer(buf, dtype=np.uint8, count=n // QK8_0 * 34).reshape(-1, 34)
        d = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (nb, 1)
        q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)  # (nb, 32)
        # ggml computes y = q * d in float32: the product of an int8 and an f16-exact scale is
        # exact in float32 anyway, so there is no rounding question.
        return (q * d).reshape(-1)
    raise ValueError(f"unsupported ggml tensor type {ggml_type}")


def tensor_bytes(ggml_type: int, n: int) -> int:
    if ggml_type == TYPE_F32:
        return 4 * n
    if ggml_type == TYPE_F16:
        return 2 * n
    if ggml_type == TYPE_Q8_0:
        return n // QK8_0 * 34
    raise ValueError(f"unsupported ggml tensor type {ggml_type}")


def read_ggml(path: str) -> GgmlModel:
    with open(path, "rb") as f:
        data = memoryview(f.read())
    pos = 0

    def i32():
        nonlocal pos
        (v,) = struct.unpack_from("<i", data, pos)
        pos += 4
        return v

    (magic,) = struct.unpack_from("<I", data, 0)
    pos = 4
    if magic != GGML_MAGIC:
        raise ValueError(f"{path}: bad magic 0x{magic:08x}")
    hp = {name: i32() for name in HPARAM_NAMES}
    quant_version = hp["ftype"] // 1000
    hp["ftype"] %= 1000

    n_mels, n_fft = i32(), i32()
    filters = np.frombuffer(data, dtype="<f4", count=n_mels * n_fft, offset=pos).reshape(n_mels, n_fft).copy()
    pos += 4 * n_mels * n_fft

    n_tokens = i32()
    vocab = []
    for _ in range(n_tokens):
        length = i32()
        vocab.append(bytes(data[pos:pos + length]))
        pos += length

    model = GgmlModel(hparams=hp, quant_version=quant_version, filters=filters, vocab=vocab)
    while pos < len(data):
        n_dims, name_len, ggml_type = i32(), i32(), i32()
        ne = [i32() for _ in range(n_dims)]
        name = bytes(data[pos:pos + name_len]).decode("ascii")
        pos += name_len
        n = int(np.prod(ne))
        size = tensor_bytes(ggml_type, n)
        if pos + size > len(data):
            raise ValueError(f"{path}: tensor {name} runs past the end of the file")
        values = dequantize(data[pos:pos + size], ggml_type, n)
        pos += size
        shape = tuple(reversed(ne))
        if name in ("encoder.conv1.bias", "encoder.conv2.bias"):
            shape = (ne[1],)  # stored (n, 1) by the converter
        model.tensors[name] = values.reshape(shape)
        model.tensor_types[name] = ggml_type
    return model


def model_dimensions(hp: dict):
    from whisper.model import ModelDimensions

    return ModelDimensions(
        n_mels=hp["n_mels"], n_audio_ctx=hp["n_audio_ctx"], n_audio_state=hp["n_audio_state"],
        n_audio_head=hp["n_audio_head"], n_audio_layer=hp["n_audio_layer"], n_vocab=hp["n_vocab"],
        n_text_ctx=hp["n_text_ctx"], n_text_state=hp["n_text_state"], n_text_head=hp["n_text_head"],
        n_text_layer=hp["n_text_layer"],
    )


def build_whisper(ggml: GgmlModel):
    """An fp32 openai-whisper model holding exactly the file's (dequantized) weights.

    The encoder's positional embedding is a registered buffer that openai-whisper computes with
    sinusoids(); it is overwritten with the file's values so that both sides use the same numbers
    (the file's are what wisp uses, and they may differ in the last bit from torch's own).
    """
    import torch
    from whisper.model import Whisper

    model = Whisper(model_dimensions(ggml.hparams))
    state = model.state_dict()
    expected = {k for k in state if k != "alignment_heads"}
    missing = expected - set(ggml.tensors)
    extra = set(ggml.tensors) - expected
    if missing or extra:
        raise ValueError(f"tensor names differ: missing {sorted(missing)}, unexpected {sorted(extra)}")
    new_state = {}
    for name, ref in state.items():
        if name == "alignment_heads":
            new_state[name] = ref
            continue
        value = torch.from_numpy(ggml.tensors[name])
        if tuple(value.shape) != tuple(ref.shape):
            raise ValueError(f"{name}: file shape {tuple(value.shape)}, whisper expects {tuple(ref.shape)}")
        new_state[name] = value.to(ref.dtype)
    model.load_state_dict(new_state)
    model.eval()
    # load_state_dict copies into the buffer; checked here because the whole comparison of the
    # encoder rests on it.
    assert torch.equal(model.encoder.positional_embedding, torch.from_numpy(ggml.tensors["encoder.positional_embedding"]))
    return model


def use_file_mel_filters(filters: np.ndarray):
    """Makes whisper.audio.log_mel_spectrogram (and so transcribe) use the file's filterbank."""
    import torch
    import whisper.audio

    fb = torch.from_numpy(np.ascontiguousarray(filters, dtype=np.float32))

    def mel_filters(device, n_mels):
        if n_mels != fb.shape[0]:
            raise ValueError(f"model file has {fb.shape[0]} mel filters, asked for {n_mels}")
        return fb.to(device)

    whisper.audio.mel_filters = mel_filters

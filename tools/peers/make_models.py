"""Turns one random-weight whisper.cpp ggml file into every peer's model format, and checks that
each computes the same function as openai-whisper.

Run in .venv-peers (tools/peers/setup.sh). Writes into --out (default /tmp/wisp-peers, never the
repository: model files are not committed):
  model.bin           the ggml file, f32 (wisp reads it directly)
  model-f16.bin       the same draws written as f16 (--type f16): whisper.cpp 1.8.5 cannot run
                      an f32 file (its CPU conv path asserts f16 kernels), so it and a second wisp
                      row are measured on this one; ref_f16.npz is openai-whisper on its weights
  openai.pt           openai-whisper checkpoint ({"dims", "model_state_dict"}, whisper.load_model reads it)
  hf/                 transformers WhisperForConditionalGeneration (openai -> HF names as in
                      transformers' convert_openai_to_hf.py)
  ct2/                CTranslate2 model (ctranslate2's converter, from hf/), float32
  onnx/               encoder, decoder_static (tokens 1x128), cross_kv, decoder_step (position 64)
  et/                 ExecuTorch .pte of the same graphs, XNNPACK-delegated (made by make_et.py in
                      .venv-peers-et when that venv exists)
  inputs.npz          mel (1x80x3000 of tests/data/speech1.wav), tokens (1x128), step inputs
  ref.npz             openai-whisper's outputs on them (encoder, logits)
  audio10min.wav      the end-to-end input: tests/data speech and noise repeated to 600 s
  checks.json         max |diff| of every peer against openai-whisper
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import wave

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "golden"))
sys.path.insert(0, HERE)

import ggml_reader  # noqa: E402
import peer_modules  # noqa: E402

STEP_POSITION = 64
N_STATIC_TOKENS = 128


OPENAI_TO_HF = [  # transformers/models/whisper/convert_openai_to_hf.py WHISPER_MAPPING
    ("blocks", "layers"), ("mlp.0", "fc1"), ("mlp.2", "fc2"), ("mlp_ln", "final_layer_norm"),
    (".attn.query", ".self_attn.q_proj"), (".attn.key", ".self_attn.k_proj"),
    (".attn.value", ".self_attn.v_proj"), (".attn_ln", ".self_attn_layer_norm"),
    (".attn.out", ".self_attn.out_proj"), (".cross_attn.query", ".encoder_attn.q_proj"),
    (".cross_attn.key", ".encoder_attn.k_proj"), (".cross_attn.value", ".encoder_attn.v_proj"),
    (".cross_attn_ln", ".encoder_attn_layer_norm"), (".cross_attn.out", ".encoder_attn.out_proj"),
    ("decoder.ln.", "decoder.layer_norm."), ("encoder.ln.", "encoder.layer_norm."),
    ("token_embedding", "embed_tokens"),
    ("encoder.positional_embedding", "encoder.embed_positions.weight"),
    ("decoder.positional_embedding", "decoder.embed_positions.weight"),
    ("ln_post", "layer_norm"),
]


def log(msg):
    print(f"[make_models {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def read_wav(path):
    with wave.open(path, "rb") as w:
        assert w.getsampwidth() == 2 and w.getframerate() == 16000, path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
        return x.reshape(-1, w.getnchannels()).mean(axis=1)


def write_wav(path, x):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def make_inputs(out, model, dims):
    import whisper

    data = os.path.join(REPO, "tests", "data")
    speech = read_wav(os.path.join(data, "speech1.wav"))
    mel = whisper.pad_or_trim(whisper.log_mel_spectrogram(torch.from_numpy(speech), dims["n_mels"]), 3000)
    mel = mel[None].contiguous()
    rng = np.random.default_rng(1)
    sot = 50257 if dims["n_vocab"] == 51864 else 50258  # tiny.en / multilingual
    tokens = np.concatenate([[sot], rng.integers(0, 50256, N_STATIC_TOKENS - 1)]).astype(np.int64)[None]
    parts = [read_wav(os.path.join(data, f)) for f in ("speech1.wav", "speech2.wav", "noise.wav")]
    piece = np.concatenate(parts)
    audio = np.tile(piece, int(np.ceil(600 * 16000 / len(piece))))[: 600 * 16000]
    write_wav(os.path.join(out, "audio10min.wav"), audio)
    return mel, torch.from_numpy(tokens)


def to_hf(state, dims):
    """openai-whisper state dict -> transformers WhisperForConditionalGeneration (float32)."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    mapping = OPENAI_TO_HF
    new = {}
    for k, v in state.items():
        if k == "alignment_heads":
            continue
        nk = k
        for a, b in mapping:
            nk = nk.replace(a, b)
        new["model." + nk] = v
    new["proj_out.weight"] = new["model.decoder.embed_tokens.weight"]
    d = dims["n_audio_state"]
    config = WhisperConfig(
        vocab_size=dims["n_vocab"], num_mel_bins=dims["n_mels"], d_model=d,
        encoder_layers=dims["n_audio_layer"], encoder_attention_heads=dims["n_audio_head"],
        decoder_layers=dims["n_text_layer"], decoder_attention_heads=dims["n_text_head"],
        encoder_ffn_dim=4 * d, decoder_ffn_dim=4 * dims["n_text_state"],
        max_source_positions=dims["n_audio_ctx"], max_target_positions=dims["n_text_ctx"],
        decoder_start_token_id=50257, bos_token_id=50256, eos_token_id=50256, pad_token_id=50256,
        suppress_tokens=[], begin_suppress_tokens=[220, 50256], dropout=0.0,
    )
    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(new, strict=False)
    # proj_out is tied to embed_tokens; nothing else may be left out.
    if [m for m in missing if m != "proj_out.weight"] or unexpected:
        raise ValueError(f"HF mapping: missing {missing}, unexpected {unexpected}")
    model.eval()
    return model


def bytes_to_unicode():
    """GPT-2's byte -> printable character map (the form of HF's vocab.json)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class VocabOnlyTokenizer:
    """What ctranslate2's Whisper converter reads from a tokenizer (get_vocab and
    additional_special_tokens), built from the ggml file's vocabulary: no hub download."""

    def __init__(self, vocab_bytes, n_vocab, ranks_path="/work/shared/data/gpt2.tiktoken"):
        import base64

        from whisper.tokenizer import LANGUAGES

        # The ggml file's vocabulary was written as decoded text (partial UTF-8 sequences became
        # U+FFFD, so 333 entries collide): the exact bytes come from tiktoken's rank file when
        # it is there; otherwise colliding entries get a suffix (the vocabulary is only names).
        if os.path.exists(ranks_path):
            with open(ranks_path) as f:
                pairs = [line.split() for line in f if line.strip()]
            vocab_bytes = [None] * len(pairs)
            for tok, rank in pairs:
                vocab_bytes[int(rank)] = base64.b64decode(tok)
        b2u = bytes_to_unicode()
        names, seen = [], set()
        for i, t in enumerate(vocab_bytes[:50256]):
            name = "".join(b2u[b] for b in t)
            if name in seen:
                name = f"{name}<dup{i}>"
            seen.add(name)
            names.append(name)
        n_lang = n_vocab - 50256 - 1 - 1 - 6 - 1501
        specials = ["<|endoftext|>", "<|startoftranscript|>"]
        specials += [f"<|{c}|>" for c in list(LANGUAGES)[:n_lang]]
        specials += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                     "<|nospeech|>", "<|notimestamps|>"]
        self.vocab = {}
        for i, t in enumerate(names + specials):
            self.vocab.setdefault(t, i)
        assert len(self.vocab) == len(names) + len(specials), "duplicate token strings"
        self.additional_special_tokens = []

    def get_vocab(self):
        return dict(self.vocab)


def convert_ct2(hf_dir, out_dir, tokenizer):
    import ctranslate2.converters as conv
    from transformers import WhisperForConditionalGeneration

    class Converter(conv.TransformersConverter):
        def load_model(self, model_class, path, **kwargs):
            return WhisperForConditionalGeneration.from_pretrained(path, torch_dtype=torch.float32)

        def load_tokenizer(self, tokenizer_class, path, **kwargs):
            return tokenizer

    Converter(hf_dir).convert(out_dir, force=True)


def export_onnx(out, state, dims, mel, xa, tokens, step_inputs):
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    graphs = {
        "encoder": (peer_modules.Encoder(state, dims), (mel,), ["mel"], ["audio_features"]),
        "decoder_static": (peer_modules.DecoderStatic(state, dims), (tokens, xa), ["tokens", "audio_features"], ["logits"]),
        "cross_kv": (peer_modules.CrossKV(state, dims), (xa,), ["audio_features"], ["cross_k", "cross_v"]),
        "decoder_step": (peer_modules.DecoderStep(state, dims, STEP_POSITION), step_inputs,
                         ["token", "self_k", "self_v", "cross_k", "cross_v"], ["logits", "new_k", "new_v"]),
    }
    for name, (module, args, inputs, outputs) in graphs.items():
        t0 = time.time()
        with torch.no_grad():
            torch.onnx.export(module, args, os.path.join(onnx_dir, name + ".onnx"), opset_version=17,
                              input_names=inputs, output_names=outputs, do_constant_folding=True)
        log(f"onnx {name} exported in {time.time() - t0:.1f} s")


def maxdiff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ggml", help="random-weight ggml file (default: make one with --make-random-model)")
    ap.add_argument("--make-random-model", default=os.path.join(REPO, "build-peers", "tools", "make_random_model"))
    ap.add_argument("--header", default="/work/shared/data/for-tests-ggml-tiny.en.bin")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--out", default="/tmp/wisp-peers")
    ap.add_argument("--skip", default="", help="comma list of: hf,ct2,onnx,et")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    out = args.out
    os.makedirs(out, exist_ok=True)
    model_bin = os.path.join(out, "model.bin")
    if args.ggml:
        shutil.copyfile(args.ggml, model_bin)
    else:
        subprocess.run([args.make_random_model, "--header", args.header, "--out", model_bin,
                        "--seed", args.seed, "--type", "f32"], check=True)
    checks = {}

    torch.set_num_threads(2)
    g = ggml_reader.read_ggml(model_bin)
    ggml_reader.use_file_mel_filters(g.filters)
    model = ggml_reader.build_whisper(g)
    dims = dict(model.dims.__dict__)
    state = {k: v for k, v in model.state_dict().items()}
    torch.save({"dims": dims, "model_state_dict": state}, os.path.join(out, "openai.pt"))
    log("openai.pt written")

    mel, tokens = make_inputs(out, model, dims)
    with torch.no_grad():
        xa = model.encoder(mel)
        logits = model.decoder(tokens, xa)
        self_k, self_v = peer_modules.self_kv_prefix(state, dims, tokens[:, :STEP_POSITION], xa)
        cross_k, cross_v = peer_modules.CrossKV(state, dims)(xa)
    step_token = tokens[:, STEP_POSITION:STEP_POSITION + 1]
    step_inputs = (step_token, self_k, self_v, cross_k, cross_v)
    np.savez(os.path.join(out, "inputs.npz"), mel=mel.numpy(), tokens=tokens.numpy(), step_token=step_token.numpy(),
             self_k=self_k.numpy(), self_v=self_v.numpy(), cross_k=cross_k.numpy(), cross_v=cross_v.numpy())
    # The step at position 64 given tokens[:64] is row 64 of the static call (causal mask).
    np.savez(os.path.join(out, "ref.npz"), encoder=xa.numpy(), logits=logits.numpy(),
             step_logits=logits[:, STEP_POSITION:STEP_POSITION + 1].numpy())
    log(f"reference: |encoder| max {xa.abs().max():.3f}, |logits| max {logits.abs().max():.3f}")

    # The exported graphs are peer_modules' code, not openai-whisper's: same function first.
    with torch.no_grad():
        checks["peer_modules.encoder"] = maxdiff(peer_modules.Encoder(state, dims)(mel), xa)
        checks["peer_modules.decoder_static"] = maxdiff(peer_modules.DecoderStatic(state, dims)(tokens, xa), logits)
        step_logits = peer_modules.DecoderStep(state, dims, STEP_POSITION)(*step_inputs)[0]
        checks["peer_modules.decoder_step"] = maxdiff(step_logits, logits[:, STEP_POSITION:STEP_POSITION + 1])
    log(f"peer_modules vs openai-whisper: {checks}")

    # whisper.cpp's file: same seed, big matrices and conv kernels f16; reference from its weights.
    f16_bin = os.path.join(out, "model-f16.bin")
    subprocess.run([args.make_random_model, "--header", args.header, "--out", f16_bin,
                    "--seed", args.seed, "--type", "f16"], check=True)
    m16 = ggml_reader.build_whisper(ggml_reader.read_ggml(f16_bin))
    with torch.no_grad():
        xa16 = m16.encoder(mel)
        logits16 = m16.decoder(tokens, xa16)
    np.savez(os.path.join(out, "ref_f16.npz"), encoder=xa16.numpy(), logits=logits16.numpy(),
             step_logits=logits16[:, STEP_POSITION:STEP_POSITION + 1].numpy())
    checks["f16_file_vs_f32_file.logits"] = maxdiff(logits16, logits)
    del m16

    if "hf" not in skip:
        hf = to_hf(state, dims)
        with torch.no_grad():
            hl = hf(input_features=mel, decoder_input_ids=tokens).logits
            he = hf.model.encoder(mel).last_hidden_state
        checks["transformers.encoder"] = maxdiff(he, xa)
        checks["transformers.logits"] = maxdiff(hl, logits)
        if checks["transformers.logits"] > 1e-4:
            raise SystemExit(f"HF logits differ from openai-whisper's by {checks['transformers.logits']}")
        hf.save_pretrained(os.path.join(out, "hf"))
        log(f"hf written; logits max diff {checks['transformers.logits']:.2e}")
        if "ct2" not in skip:
            convert_ct2(os.path.join(out, "hf"), os.path.join(out, "ct2"), VocabOnlyTokenizer(g.vocab, dims["n_vocab"]))
            log("ct2 written")

    if "onnx" not in skip:
        export_onnx(out, state, dims, mel, xa, tokens, step_inputs)

    et_python = os.path.join(REPO, ".venv-peers-et", "bin", "python")
    if "et" not in skip and os.path.exists(et_python):
        r = subprocess.run([os.path.join(HERE, "et_env.sh"), et_python, os.path.join(HERE, "make_et.py"), out])
        if r.returncode:
            log("make_et.py failed: no ExecuTorch models")
    with open(os.path.join(out, "checks.json"), "w") as f:
        json.dump(checks, f, indent=1)
    log(f"done: {json.dumps(checks)}")


if __name__ == "__main__":
    main()

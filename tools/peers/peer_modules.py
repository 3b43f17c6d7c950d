"""Whisper's encoder and decoder as plain torch modules over an openai-whisper state dict.

Used for the exported peers (ONNX, ExecuTorch): the same three graphs for each, with static
shapes. Deliberately free of the `whisper` package so that the ExecuTorch venv (its own torch 2.x,
no openai-whisper) builds identical modules; make_models.py checks them against openai-whisper.

- Encoder:        mel (1, n_mels, 3000) -> audio features (1, 1500, d)
- DecoderStatic:  tokens (1, T) int64, audio features -> logits (1, T, n_vocab); no cache
- DecoderStep:    one token at position P with a self-attention cache of P entries and the
                  cross-attention keys/values precomputed from the audio features ->
                  logits (1, 1, n_vocab) and the token's new self keys/values (what a decode
                  loop appends). P is fixed at export (static shapes, as XNNPACK wants).
- CrossKV:        audio features -> cross-attention keys/values of every layer (computed once
                  per window by every engine that caches them).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


def _ln(x, sd, name):
    return F.layer_norm(x, (x.shape[-1],), sd[name + ".weight"], sd[name + ".bias"], 1e-5)


def _lin(x, sd, name, bias=True):
    return F.linear(x, sd[name + ".weight"], sd.get(name + ".bias") if bias else None)


def _attend(q, k, v, n_head, causal):
    """openai-whisper's qkv_attention (scale split between q and k), batch 1."""
    b, n_q, d = q.shape
    n_k = k.shape[1]
    hd = d // n_head
    scale = float(hd) ** -0.25
    q = q.view(b, n_q, n_head, hd).permute(0, 2, 1, 3) * scale
    k = k.view(b, n_k, n_head, hd).permute(0, 2, 3, 1) * scale
    v = v.view(b, n_k, n_head, hd).permute(0, 2, 1, 3)
    w = q @ k
    if causal:
        mask = torch.full((n_q, n_k), float("-inf")).triu_(1)
        w = w + mask
    w = torch.softmax(w.float(), dim=-1)
    return (w @ v).permute(0, 2, 1, 3).reshape(b, n_q, d)


class _Base(nn.Module):
    PREFIX = "decoder."  # only the weights the graph uses are stored in an export

    def keep(self, name):
        return name.startswith(self.PREFIX)

    def __init__(self, state_dict, dims):
        super().__init__()
        self.dims = dims
        # Parameters registered under flattened names so exporters see them as weights.
        self._names = {}
        for i, (k, v) in enumerate(state_dict.items()):
            if k == "alignment_heads" or not self.keep(k):
                continue
            pname = "p%d" % i
            self.register_buffer(pname, v.detach().float().clone())
            self._names[k] = pname

    def sd(self):
        return {k: getattr(self, p) for k, p in self._names.items()}


class Encoder(_Base):
    PREFIX = "encoder."

    def forward(self, mel):
        sd = self.sd()
        x = F.gelu(F.conv1d(mel, sd["encoder.conv1.weight"], sd["encoder.conv1.bias"], padding=1))
        x = F.gelu(F.conv1d(x, sd["encoder.conv2.weight"], sd["encoder.conv2.bias"], stride=2, padding=1))
        x = x.permute(0, 2, 1) + sd["encoder.positional_embedding"]
        h = self.dims["n_audio_head"]
        for i in range(self.dims["n_audio_layer"]):
            p = "encoder.blocks.%d." % i
            y = _ln(x, sd, p + "attn_ln")
            q = _lin(y, sd, p + "attn.query")
            k = _lin(y, sd, p + "attn.key", bias=False)
            v = _lin(y, sd, p + "attn.value")
            x = x + _lin(_attend(q, k, v, h, False), sd, p + "attn.out")
            y = _ln(x, sd, p + "mlp_ln")
            x = x + _lin(F.gelu(_lin(y, sd, p + "mlp.0")), sd, p + "mlp.2")
        return _ln(x, sd, "encoder.ln_post")


def _decoder_block(x, sd, p, h, self_k, self_v, cross_k, cross_v, causal):
    y = _ln(x, sd, p + "attn_ln")
    q = _lin(y, sd, p + "attn.query")
    k = _lin(y, sd, p + "attn.key", bias=False)
    v = _lin(y, sd, p + "attn.value")
    new_k, new_v = k, v
    if self_k is not None:
        k = torch.cat([self_k, k], dim=1)
        v = torch.cat([self_v, v], dim=1)
    x = x + _lin(_attend(q, k, v, h, causal), sd, p + "attn.out")
    y = _ln(x, sd, p + "cross_attn_ln")
    q = _lin(y, sd, p + "cross_attn.query")
    x = x + _lin(_attend(q, cross_k, cross_v, h, False), sd, p + "cross_attn.out")
    y = _ln(x, sd, p + "mlp_ln")
    x = x + _lin(F.gelu(_lin(y, sd, p + "mlp.0")), sd, p + "mlp.2")
    return x, new_k, new_v


def _cross_kv(sd, xa, i):
    p = "decoder.blocks.%d.cross_attn." % i
    return _lin(xa, sd, p + "key", bias=False), _lin(xa, sd, p + "value")


class DecoderStatic(_Base):
    def forward(self, tokens, xa):
        sd = self.sd()
        n = tokens.shape[1]
        x = sd["decoder.token_embedding.weight"][tokens] + sd["decoder.positional_embedding"][:n]
        h = self.dims["n_text_head"]
        for i in range(self.dims["n_text_layer"]):
            ck, cv = _cross_kv(sd, xa, i)
            x, _, _ = _decoder_block(x, sd, "decoder.blocks.%d." % i, h, None, None, ck, cv, True)
        x = _ln(x, sd, "decoder.ln")
        return F.linear(x, sd["decoder.token_embedding.weight"])


class CrossKV(_Base):
    def keep(self, name):
        return ".cross_attn.key." in name or ".cross_attn.value." in name

    def forward(self, xa):
        sd = self.sd()
        ks, vs = [], []
        for i in range(self.dims["n_text_layer"]):
            k, v = _cross_kv(sd, xa, i)
            ks.append(k)
            vs.append(v)
        return torch.stack(ks), torch.stack(vs)  # (L, 1, 1500, d) each


class DecoderStep(_Base):
    """One token at position `position`; self_k/self_v: (L, 1, position, d)."""

    def __init__(self, state_dict, dims, position):
        super().__init__(state_dict, dims)
        self.position = position

    def forward(self, token, self_k, self_v, cross_k, cross_v):
        sd = self.sd()
        pos = self.position
        x = sd["decoder.token_embedding.weight"][token] + sd["decoder.positional_embedding"][pos:pos + 1]
        h = self.dims["n_text_head"]
        nks, nvs = [], []
        for i in range(self.dims["n_text_layer"]):
            x, nk, nv = _decoder_block(x, sd, "decoder.blocks.%d." % i, h, self_k[i], self_v[i],
                                       cross_k[i], cross_v[i], False)
            nks.append(nk)
            nvs.append(nv)
        x = _ln(x, sd, "decoder.ln")
        return F.linear(x, sd["decoder.token_embedding.weight"]), torch.stack(nks), torch.stack(nvs)


def self_kv_prefix(state_dict, dims, tokens, xa):
    """Self-attention keys/values of every decoder layer for `tokens` (1, P): the cache a
    decode loop holds after P tokens. Computed with DecoderStatic's math."""
    m = DecoderStatic(state_dict, dims)
    sd = m.sd()
    n = tokens.shape[1]
    x = sd["decoder.token_embedding.weight"][tokens] + sd["decoder.positional_embedding"][:n]
    ks, vs = [], []
    for i in range(dims["n_text_layer"]):
        ck, cv = _cross_kv(sd, xa, i)
        x, k, v = _decoder_block(x, sd, "decoder.blocks.%d." % i, dims["n_text_head"], None, None, ck, cv, True)
        ks.append(k)
        vs.append(v)
    return torch.stack(ks), torch.stack(vs)


def load_checkpoint(path):
    """(state_dict, dims) of an openai-whisper checkpoint written by make_models.py."""
    ck = torch.load(path, map_location="cpu")
    return ck["model_state_dict"], dict(ck["dims"])

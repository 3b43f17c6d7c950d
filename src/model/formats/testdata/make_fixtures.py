#!/usr/bin/env python3
"""Writes the .pt fixtures of openai_pt_reader_test with real torch.save (run by hand, from this
folder: `python3 make_fixtures.py`; Debian's python3-torch 1.13 wrote the committed files).

Each checkpoint mimics openai-whisper's: {"dims": {...}, "model_state_dict": OrderedDict} where
the OrderedDict carries a state_dict's `_metadata` attribute (pickled as BUILD). Values are
deterministic (arange) so that the test can check bytes.
"""
import collections
import os
import zipfile

import torch

DIMS = {"n_mels": 80, "n_vocab": 51864, "n_audio_ctx": 1500, "n_audio_state": 384,
        "n_audio_head": 6, "n_audio_layer": 4, "n_text_ctx": 448, "n_text_state": 384,
        "n_text_head": 6, "n_text_layer": 4}


def state_dict(dtype, parameter=False):
    sd = collections.OrderedDict()
    sd["encoder.conv1.weight"] = (torch.arange(24, dtype=torch.float32) * 0.5).reshape(4, 2, 3).to(dtype)
    sd["encoder.conv1.bias"] = (torch.arange(4, dtype=torch.float32) - 1.5).to(dtype)
    big = (torch.arange(40, dtype=torch.float32) * 0.25).reshape(10, 4).to(dtype)
    sd["decoder.token_embedding.weight"] = big
    # A view of the same storage at element offset 8: one storage entry, two tensors.
    sd["decoder.positional_embedding"] = big[2:5]
    if parameter:  # a Parameter pickles through torch._utils._rebuild_parameter
        sd["decoder.ln.weight"] = torch.nn.Parameter(torch.ones(4, dtype=dtype))
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("encoder", {"version": 1})])
    return sd


def save(name, sd, dims=DIMS, protocol=2):
    torch.save({"dims": dict(dims), "model_state_dict": sd}, name, pickle_protocol=protocol)


class Evil:
    """What a hostile checkpoint does: REDUCE a callable at load time."""
    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


def main():
    save("tiny_f16.pt", state_dict(torch.float16))
    save("tiny_f32.pt", state_dict(torch.float32, parameter=True))
    save("tiny_bf16.pt", state_dict(torch.bfloat16))
    # Protocol 4 (FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE), as pickle_protocol=4 writes.
    save("tiny_proto4.pt", state_dict(torch.float16), protocol=4)
    sd = state_dict(torch.float16)
    sd["decoder.token_embedding.weight"] = sd["decoder.token_embedding.weight"].t()  # strides (1, 4)
    save("noncontig.pt", sd)
    # The same archive re-zipped with deflate, as a zip tool would.
    with zipfile.ZipFile("tiny_f16.pt") as src, zipfile.ZipFile("deflate.pt", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename.replace("tiny_f16/", "deflate/"), src.read(info.filename))
    save("evil_os_system.pt", Evil(os.system, "echo pwned"))
    save("evil_eval.pt", collections.OrderedDict(x=Evil(eval, "__import__('os').system('echo pwned')")))


if __name__ == "__main__":
    main()

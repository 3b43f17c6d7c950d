"""ExecuTorch .pte files (XNNPACK-delegated, fp32) of peer_modules' graphs; run by make_models.py
in .venv-peers-et through et_env.sh: `et_env.sh .venv-peers-et/bin/python make_et.py OUT`.

Exports encoder, decoder_static (tokens 1x128), cross_kv and decoder_step (position 64) from
OUT/openai.pt with torch.export, lowers them with XnnpackPartitioner, then runs each .pte once
and writes the max |diff| against OUT/ref.npz (openai-whisper's outputs) into OUT/et/checks.json.
"""

import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_modules  # noqa: E402

STEP_POSITION = 64


def main():
    out = sys.argv[1]
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from executorch.extension.pybindings.portable_lib import _load_for_executorch

    state, dims = peer_modules.load_checkpoint(os.path.join(out, "openai.pt"))
    inp = np.load(os.path.join(out, "inputs.npz"))
    ref = np.load(os.path.join(out, "ref.npz"))
    t = {k: torch.from_numpy(inp[k]) for k in inp.files}
    xa = torch.from_numpy(ref["encoder"])
    graphs = {
        "encoder": (peer_modules.Encoder(state, dims), (t["mel"],)),
        "decoder_static": (peer_modules.DecoderStatic(state, dims), (t["tokens"], xa)),
        "cross_kv": (peer_modules.CrossKV(state, dims), (xa,)),
        "decoder_step": (peer_modules.DecoderStep(state, dims, STEP_POSITION),
                         (t["step_token"], t["self_k"], t["self_v"], t["cross_k"], t["cross_v"])),
    }
    et_dir = os.path.join(out, "et")
    os.makedirs(et_dir, exist_ok=True)
    checks = {}
    for name, (module, args) in graphs.items():
        t0 = time.time()
        with torch.no_grad():
            ep = torch.export.export(module.eval(), args)
            prog = to_edge_transform_and_lower(ep, partitioner=[XnnpackPartitioner()]).to_executorch()
        path = os.path.join(et_dir, name + ".pte")
        with open(path, "wb") as f:
            f.write(prog.buffer)
        got = _load_for_executorch(path).forward(list(args))
        if name == "encoder":
            checks["executorch.encoder"] = float(np.abs(got[0].numpy() - ref["encoder"]).max())
        elif name == "decoder_static":
            checks["executorch.decoder_static"] = float(np.abs(got[0].numpy() - ref["logits"]).max())
        elif name == "decoder_step":
            checks["executorch.decoder_step"] = float(np.abs(got[0].numpy() - ref["step_logits"]).max())
        print(f"[make_et] {name}: {time.time() - t0:.1f} s, {os.path.getsize(path) >> 20} MiB", flush=True)
    with open(os.path.join(et_dir, "checks.json"), "w") as f:
        json.dump(checks, f, indent=1)
    print(f"[make_et] {checks}")


if __name__ == "__main__":
    main()

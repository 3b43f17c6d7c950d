"""An openai-whisper checkpoint (.pt, e.g. from ct2_to_openai.py) as a Hugging Face transformers
Whisper directory: model.safetensors (written by the `safetensors` library, names mapped as
transformers' convert_openai_to_hf.py maps them, proj_out tied so not stored), config.json,
generation_config.json (alignment heads) and the tokenizer.json of the CTranslate2 directory.
Run by hand, for the real-weight test's `huggingface` variant (WISP_REAL_HF=OUT):

  .venv/bin/pip install safetensors
  .venv/bin/python tools/realweights/to_hf.py /tmp/tiny.en.pt "$(scripts/fetch-real-model.sh)" /tmp/tiny.en-hf
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from make_models import OPENAI_TO_HF as MAPPING  # noqa: E402  the one openai -> transformers name table


def main():
    pt, ct2_dir, out = sys.argv[1:4]
    ckpt = torch.load(pt, map_location="cpu")
    dims, state = ckpt["dims"], ckpt["model_state_dict"]
    tensors = {}
    for k, v in state.items():
        nk = k
        for a, b in MAPPING:
            nk = nk.replace(a, b)
        tensors["model." + nk] = v.contiguous()
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    d = dims["n_audio_state"]
    config = {
        "architectures": ["WhisperForConditionalGeneration"], "model_type": "whisper",
        "vocab_size": dims["n_vocab"], "num_mel_bins": dims["n_mels"], "d_model": d,
        "encoder_layers": dims["n_audio_layer"], "encoder_attention_heads": dims["n_audio_head"],
        "decoder_layers": dims["n_text_layer"], "decoder_attention_heads": dims["n_text_head"],
        "encoder_ffn_dim": 4 * d, "decoder_ffn_dim": 4 * dims["n_text_state"],
        "max_source_positions": dims["n_audio_ctx"], "max_target_positions": dims["n_text_ctx"],
        "torch_dtype": "float16", "tie_word_embeddings": True,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(ct2_dir, "config.json")) as f:
        ct2 = json.load(f)
    gen = {"alignment_heads": ct2["alignment_heads"], "suppress_tokens": ct2["suppress_ids"],
           "begin_suppress_tokens": ct2["suppress_ids_begin"]}
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(gen, f, indent=1)
    shutil.copy(os.path.join(ct2_dir, "tokenizer.json"), os.path.join(out, "tokenizer.json"))
    print(out, len(tensors), "tensors")


if __name__ == "__main__":
    main()

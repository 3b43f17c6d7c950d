// CTranslate2 Whisper models, as faster-whisper uses them: a directory with
//   model.bin        CTranslate2's binary spec (WhisperSpec): variables named like
//                    "encoder/layer_0/self_attention/linear_0/weight", fused QKV (self-attention)
//                    and fused KV (cross-attention) matrices, the output projection an alias of
//                    the token embedding; float32, float16, bfloat16 or int8 with per-row scales
//                    ("<name>_scale"), the int8_float16 / int8_bfloat16 variants keeping the rest
//                    in f16 / bf16
//   config.json      alignment_heads, suppress_ids, suppress_ids_begin, lang_ids
//   vocabulary.txt   (or vocabulary.json, or tokenizer.json) tokens in GPT-2's byte alphabet
// The reader splits the fused matrices into openai-whisper's query/key/value tensors as views (rows
// of the fused matrix are contiguous), so nothing is copied; the binder converts and packs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/formats/tensor_table.h"
#include "util/status.h"

namespace wisp {

// model.bin's bytes -> tensors (openai-whisper names) and hparams; no metadata. The table points
// into `data`. `source` names the file in messages.
Result<TensorTable> ParseCTranslate2ModelBin(const uint8_t* data, size_t size, const std::string& source);

// config.json's contents -> metadata (alignment heads, suppress ids); checks them against n_vocab
// and the decoder's layers and heads.
Status ParseCTranslate2Config(const std::string& json, const std::string& source, const HParams& hparams,
                              ModelMetadata* metadata);

// The whole directory: model.bin mapped (kept alive by the table), config.json, the vocabulary.
Result<TensorTable> ReadCTranslate2Dir(const std::string& dir);

// True when `dir` holds a model.bin whose header is CTranslate2's (for sniffing).
bool LooksLikeCTranslate2Dir(const std::string& dir);

}  // namespace wisp

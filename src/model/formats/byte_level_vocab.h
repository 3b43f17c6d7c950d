// GPT-2's byte-level BPE alphabet (bytes_to_unicode in openai/gpt-2 encoder.py): Hugging Face and
// CTranslate2 vocabularies spell every token's bytes as printable code points ("Ġthe" = " the").
// Decoding them gives the raw bytes tiktoken ranks hold, exactly (no token is lost, unlike
// whisper.cpp's embedded vocab).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace wisp {

// The raw bytes of one token spelled in GPT-2's byte alphabet; an error names the first code
// point outside it (or invalid UTF-8).
Result<std::string> ByteLevelTokenToBytes(std::string_view token);

// From a vocabulary in id order (vocabulary.txt lines, or vocab.json inverted), the ordinary
// tokens as raw bytes: every entry before "<|endoftext|>" (50256 for GPT-2 / .en models, 50257
// for the multilingual vocabulary). Checks that "<|endoftext|>" is there, that the ordinary
// count is one a Whisper vocabulary has, and that no two ordinary tokens have the same bytes.
// `source` names the file in messages.
Result<std::vector<std::string>> OrdinaryTokensFromVocab(const std::vector<std::string>& vocab_in_id_order,
                                                         const std::string& source);

}  // namespace wisp

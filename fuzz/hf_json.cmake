# libFuzzer target for tokenizer.json / vocab.json / added_tokens.json; seeds in fuzz/corpus/hf_json/.
wisp_add_fuzzer(hf_json_fuzz ${CMAKE_CURRENT_LIST_DIR}/hf_json_fuzz.cc)

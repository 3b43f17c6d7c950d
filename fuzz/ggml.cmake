# libFuzzer target for the ggml model parser; seeds in fuzz/corpus/ggml/.
wisp_add_fuzzer(ggml_fuzz ${CMAKE_CURRENT_LIST_DIR}/ggml_fuzz.cc)

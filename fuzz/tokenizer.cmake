# Tokenizer fuzzer (included by fuzz/CMakeLists.txt). It reads the real ranks from the shared
# data when present, else fuzzes against a synthetic vocabulary.
wisp_add_fuzzer(tokenizer_fuzz ${CMAKE_CURRENT_LIST_DIR}/tokenizer_fuzz.cc)
target_compile_definitions(tokenizer_fuzz PRIVATE WISP_SHARED_DATA_DIR="${WISP_SHARED_DATA_DIR}")

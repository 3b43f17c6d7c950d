# libFuzzer target for the safetensors parser (included by fuzz/CMakeLists.txt); seeds in
# fuzz/corpus/safetensors/.
wisp_add_fuzzer(safetensors_fuzz ${CMAKE_CURRENT_LIST_DIR}/safetensors_fuzz.cc)

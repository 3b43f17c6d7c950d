# libFuzzer targets for the OpenAI .pt reader (included by fuzz/CMakeLists.txt): pt_fuzz mutates whole
# torch.save archives (zip layer), pickle_fuzz mutates data.pkl inside a well-formed archive
# (unpickler and tensor checks). Seeds in fuzz/corpus/pt/ and fuzz/corpus/pickle/.
wisp_add_fuzzer(pt_fuzz ${CMAKE_CURRENT_LIST_DIR}/pt_fuzz.cc)
wisp_add_fuzzer(pickle_fuzz ${CMAKE_CURRENT_LIST_DIR}/pickle_fuzz.cc)

# libFuzzer target for the CTranslate2 reader (model.bin and config.json); seeds in fuzz/corpus/ctranslate2/.
wisp_add_fuzzer(ctranslate2_fuzz ${CMAKE_CURRENT_LIST_DIR}/ctranslate2_fuzz.cc)

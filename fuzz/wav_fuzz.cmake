# libFuzzer target for the WAV reader (included by fuzz/CMakeLists.txt); seeds in fuzz/corpus/wav/.
# The libraries themselves are built with coverage instrumentation in fuzz builds (WISP_FUZZ).
wisp_add_fuzzer(wav_fuzz ${CMAKE_CURRENT_LIST_DIR}/wav_fuzz.cc)

# libFuzzer target for the WAV reader (included by fuzz/CMakeLists.txt); seeds in fuzz/corpus/wav/.
# wav.cc is compiled into the target itself so that it gets libFuzzer's coverage instrumentation
# (wisp_audio, linked through `wisp`, is built without it); the linker then takes no wav.cc.o
# from the library archive.
wisp_add_fuzzer(wav_fuzz ${CMAKE_CURRENT_LIST_DIR}/wav_fuzz.cc ${CMAKE_CURRENT_LIST_DIR}/../src/audio/wav.cc)

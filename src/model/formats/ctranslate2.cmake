# CTranslate2 Whisper directories (faster-whisper's format).
target_sources(wisp_model PRIVATE ${CMAKE_CURRENT_LIST_DIR}/ctranslate2_reader.cc)
set(WISP_TEST_LIBS wisp_model)
wisp_add_test(ctranslate2_reader_test ${CMAKE_CURRENT_LIST_DIR}/ctranslate2_reader_test.cc)

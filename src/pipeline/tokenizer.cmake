# Tokenizer (included by src/pipeline/CMakeLists.txt after wisp_pipeline is declared).
target_sources(wisp_pipeline PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer.cc
  ${CMAKE_CURRENT_LIST_DIR}/tokenizer_encode.cc
  ${CMAKE_CURRENT_LIST_DIR}/unicode_tables.cc)

set(WISP_TEST_LIBS wisp_pipeline)
wisp_add_test(tokenizer_test ${CMAKE_CURRENT_LIST_DIR}/tokenizer_test.cc)
# The python-made expectations live beside the test (src/pipeline/testdata).
if(TARGET tokenizer_test)
  target_compile_definitions(tokenizer_test PRIVATE
    WISP_PIPELINE_TESTDATA_DIR="${CMAKE_CURRENT_LIST_DIR}/testdata")
endif()

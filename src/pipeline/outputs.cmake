# Result writers (txt, vtt, srt, tsv, json as openai-whisper writes them); included from
# src/pipeline/CMakeLists.txt.
target_sources(wisp_pipeline PRIVATE ${CMAKE_CURRENT_LIST_DIR}/output_writers.cc)
set(WISP_TEST_LIBS wisp_pipeline)
wisp_add_test(output_writers_test ${CMAKE_CURRENT_LIST_DIR}/output_writers_test.cc)

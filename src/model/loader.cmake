# The ggml model-file layer: loader, element types, random-model writer; included from
# src/model/CMakeLists.txt.
target_sources(wisp_model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/bind_weights.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_loader.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_types.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_writer.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_convert.cc)
# Quantizers and the random writer must round identically on every target (no fused multiply-add),
# so that generated model files are byte-identical everywhere.
set_source_files_properties(
  ${CMAKE_CURRENT_LIST_DIR}/ggml_types.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_writer.cc
  PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")

set(WISP_TEST_LIBS wisp_model)
wisp_add_test(model_loader_test
  ${CMAKE_CURRENT_LIST_DIR}/ggml_loader_test.cc
  ${CMAKE_CURRENT_LIST_DIR}/ggml_types_test.cc)
# `wisp convert`: any checkpoint -> whisper.cpp ggml file of a chosen type.
wisp_add_test(ggml_convert_test ${CMAKE_CURRENT_LIST_DIR}/ggml_convert_test.cc)

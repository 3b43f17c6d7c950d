# The Hugging Face transformers reader (safetensors files + config/tokenizer JSON); included from
# src/model/CMakeLists.txt. nlohmann-json is header-only (Debian nlohmann-json3-dev).
target_sources(wisp_model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/safetensors_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/hf_tokenizer.cc)

set(WISP_TEST_LIBS wisp_model)
wisp_add_test(safetensors_reader_test ${CMAKE_CURRENT_LIST_DIR}/safetensors_reader_test.cc)

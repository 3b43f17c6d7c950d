# The format-neutral tensor table and what every reader shares; included from src/model/CMakeLists.txt
# (each reader adds its own <format>.cmake beside this file).
target_sources(wisp_model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/tensor_table.cc
  ${CMAKE_CURRENT_LIST_DIR}/byte_level_vocab.cc
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint_reader.cc)

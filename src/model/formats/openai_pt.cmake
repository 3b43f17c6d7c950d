# The OpenAI .pt checkpoint reader (torch.save zip + restricted unpickler); included from
# src/model/CMakeLists.txt. zlib inflates deflate-compressed entries (re-zipped checkpoints).
find_package(ZLIB REQUIRED)
target_sources(wisp_model PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/zip_archive.cc
  ${CMAKE_CURRENT_LIST_DIR}/pickle_reader.cc
  ${CMAKE_CURRENT_LIST_DIR}/openai_pt_reader.cc)
target_link_libraries(wisp_model PRIVATE ZLIB::ZLIB)

set(WISP_TEST_LIBS wisp_model)
wisp_add_test(openai_pt_reader_test ${CMAKE_CURRENT_LIST_DIR}/openai_pt_reader_test.cc)
if(TARGET openai_pt_reader_test)
  # Fixtures written by torch.save (tools in testdata/make_fixtures.py) and hand-made hostile files.
  target_compile_definitions(openai_pt_reader_test PRIVATE
    WISP_PT_TESTDATA_DIR="${CMAKE_CURRENT_LIST_DIR}/testdata")
  target_link_libraries(openai_pt_reader_test PRIVATE ZLIB::ZLIB)
endif()

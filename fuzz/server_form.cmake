# libFuzzer target for the server's multipart-field mapping (included by fuzz/CMakeLists.txt);
# seeds in fuzz/corpus/server_form/.
wisp_add_fuzzer(server_form_fuzz ${CMAKE_CURRENT_LIST_DIR}/server_form_fuzz.cc)
target_link_libraries(server_form_fuzz PRIVATE wisp_server)

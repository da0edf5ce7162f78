# rover_embed_lua(target NAME file.lua ...): compiles each Lua file into the
# target as a C++ string constant `rover::lua::prelude::k<Name>` (see
# src/lua/prelude.h), so the binary needs no files at run time.
function(rover_embed_lua target)
  set(out_cpp ${CMAKE_CURRENT_BINARY_DIR}/prelude_sources.cpp)
  set(deps)
  foreach(f ${ARGN})
    list(APPEND deps ${CMAKE_CURRENT_SOURCE_DIR}/${f})
  endforeach()
  add_custom_command(
    OUTPUT ${out_cpp}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DFILES="${deps}" -P ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    DEPENDS ${deps} ${PROJECT_SOURCE_DIR}/cmake/embed_run.cmake
    COMMENT "Embedding Lua prelude")
  target_sources(${target} PRIVATE ${out_cpp})
endfunction()

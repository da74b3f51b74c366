# kray_embed_migrations(<target> <dir> <namespace> <function>)
#
# Embeds the schema migrations <dir>/NNN_name.sql of one component into
# <target> as `std::span<const kray::store::Migration> <namespace>::<function>()`
# (declare it in the component's header). Re-run cmake after adding a file:
# the glob uses CONFIGURE_DEPENDS.
function(kray_embed_migrations target dir namespace function)
  file(GLOB files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT files)
  if(NOT files)
    message(FATAL_ERROR "kray_embed_migrations: no NNN_name.sql files in ${dir}")
  endif()
  string(REPLACE ";" "|" files_arg "${files}")
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${function}_migrations.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${files_arg}" -DNAMESPACE=${namespace} -DFUNCTION=${function}
            -P ${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake
    COMMENT "Embedding ${function} schema migrations"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()

# kray_embed_files(<target> <base_dir> <namespace> <function> <file>...)
#
# Compiles the given files (absolute paths under <base_dir>) into <target> as
# `std::span<const kray::api::EmbeddedFile> <namespace>::<function>()`, each
# named by its path relative to <base_dir> (declare the function where it is
# used). The generated source is rewritten whenever one of the files changes,
# so an edited asset is in the next build; nothing is read at run time.
function(kray_embed_files target base_dir namespace function)
  set(files ${ARGN})
  if(NOT files)
    message(FATAL_ERROR "kray_embed_files(${function}): no files")
  endif()
  string(REPLACE ";" "|" files_arg "${files}")
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${function}_embedded.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} "-DFILES=${files_arg}" -DBASE=${base_dir} -DNAMESPACE=${namespace}
            -DFUNCTION=${function} -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${files} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "Embedding ${function}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()

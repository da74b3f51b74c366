# Fails when a module includes a module above it in the dependency order
# (Bitcoin Core's lint-includes, for krayd's module list). Every
# `#include "kray/<m>/..."` in include/kray/<module>/ and src/<module>/ must
# name <module> itself or a module listed before it.
#   cmake -DSOURCE_DIR=<repo> -DMODULES=core,crypto,... -P layering_check.cmake
string(REPLACE "," ";" order "${MODULES}")
set(violations "")
set(index 0)
foreach(module IN LISTS order)
  file(GLOB_RECURSE files
    ${SOURCE_DIR}/include/kray/${module}/*.h
    ${SOURCE_DIR}/src/${module}/*.h
    ${SOURCE_DIR}/src/${module}/*.cpp)
  foreach(f IN LISTS files)
    file(STRINGS ${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"kray/[a-z_]+/")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"kray/([a-z_]+)/.*" "\\1" used "${line}")
      list(FIND order ${used} used_index)
      if(used_index EQUAL -1)
        list(APPEND violations "${f}: includes kray/${used}/, which is not a module in the build order")
      elseif(used_index GREATER index)
        list(APPEND violations "${f}: module '${module}' includes kray/${used}/, which is above it")
      endif()
    endforeach()
  endforeach()
  math(EXPR index "${index} + 1")
endforeach()
if(violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "layering violations:\n${text}")
endif()
message(STATUS "layering: every include follows the module order (${MODULES})")

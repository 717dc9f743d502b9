# Enforces the one-way layering of rt's modules (docs/design.md §9 "Layers").
#
# Every include path starts at the repo root, so the compiler alone cannot stop a
# module from including any header. This script can: RT_MODULES_FILE lists one
# module a line as "target|dir|dep1,dep2" (written by rt_add_module), and every
# `#include "x/y.h"` in a module's own files must name a header of the module itself
# or of a module it declares as a dependency. Run with
#   cmake -DRT_SOURCE_DIR=... -DRT_MODULES_FILE=... -P check_layering.cmake
# It fails (so the build fails) with one line per offending include.
cmake_minimum_required(VERSION 3.25)

file(STRINGS "${RT_MODULES_FILE}" module_lines)
set(module_names "")
foreach(line IN LISTS module_lines)
  string(REPLACE "|" ";" fields "${line}")
  list(GET fields 0 name)
  list(GET fields 1 dir)
  list(LENGTH fields field_count)
  set(deps "")
  if(field_count GREATER 2)
    list(GET fields 2 deps)
    string(REPLACE "," ";" deps "${deps}")
  endif()
  list(APPEND module_names ${name})
  set(dir_of_${name} "${dir}")
  set(deps_of_${name} "${deps}")
endforeach()

# The module owning an include path: the one whose dir is the longest prefix of it.
function(owner_of include_path out_var)
  set(best "")
  set(best_length 0)
  foreach(name IN LISTS module_names)
    set(dir "${dir_of_${name}}/")
    string(LENGTH "${dir}" length)
    string(SUBSTRING "${include_path}" 0 ${length} prefix)
    if(prefix STREQUAL dir AND length GREATER best_length)
      get_filename_component(include_dir "${include_path}" DIRECTORY)
      if(include_dir STREQUAL dir_of_${name})  # modules do not recurse into subdirs
        set(best "${name}")
        set(best_length ${length})
      endif()
    endif()
  endforeach()
  set(${out_var} "${best}" PARENT_SCOPE)
endfunction()

set(violations 0)
foreach(name IN LISTS module_names)
  file(GLOB files "${RT_SOURCE_DIR}/${dir_of_${name}}/*.h" "${RT_SOURCE_DIR}/${dir_of_${name}}/*.cpp")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" includes REGEX "^#include \"[^\"]+\"")
    foreach(include_line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" include_path "${include_line}")
      if(NOT include_path MATCHES "/")
        continue()  # a file next to this one, e.g. Kyoto's own headers are <>
      endif()
      owner_of("${include_path}" owner)
      if(owner STREQUAL name)
        continue()
      endif()
      file(RELATIVE_PATH relative "${RT_SOURCE_DIR}" "${file}")
      if(owner STREQUAL "")
        message(NOTICE "layering: ${relative} includes \"${include_path}\", "
                             "which belongs to no rt module")
        math(EXPR violations "${violations} + 1")
      elseif(NOT owner IN_LIST deps_of_${name})
        message(NOTICE "layering: ${relative} includes \"${include_path}\" of ${owner}, "
                             "but ${name} does not depend on ${owner} (declare the dependency "
                             "in its CMakeLists.txt if the layering allows it)")
        math(EXPR violations "${violations} + 1")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "layering: ${violations} include(s) cross the module layering")
endif()

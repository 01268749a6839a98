# Install rules: headers under include/lenet/, static libraries, and lib/cmake/lenet/ with
# lenetConfig.cmake, lenetConfigVersion.cmake and the exported targets (namespace lenet::).

include(CMakePackageConfigHelpers)

set(LENET_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/lenet)

# lenet_install_target(target [HEADERS dir]): installs target into the export set, and the
# headers below dir (relative to the calling CMakeLists.txt) into include/.
function(lenet_install_target target)
  cmake_parse_arguments(ARG "" "HEADERS" "" ${ARGN})
  install(TARGETS ${target} EXPORT lenetTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  if(ARG_HEADERS)
    install(DIRECTORY ${ARG_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
            FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp" PATTERN "*.cuh")
  endif()
endfunction()

# lenet_package_dependency("find_dependency(...)"): a line lenetConfig.cmake runs before it
# loads the targets, for every package an installed target links to.
function(lenet_package_dependency line)
  set_property(GLOBAL APPEND PROPERTY LENET_PACKAGE_DEPENDENCIES "${line}")
endfunction()

# Called once at the end of the top-level CMakeLists.txt.
function(lenet_install_package)
  get_property(deps GLOBAL PROPERTY LENET_PACKAGE_DEPENDENCIES)
  if(deps)
    list(REMOVE_DUPLICATES deps)
    list(JOIN deps "\n" LENET_FIND_DEPENDENCIES)
  else()
    set(LENET_FIND_DEPENDENCIES "")
  endif()
  configure_package_config_file(
    ${PROJECT_SOURCE_DIR}/cmake/lenetConfig.cmake.in
    ${PROJECT_BINARY_DIR}/lenetConfig.cmake
    INSTALL_DESTINATION ${LENET_INSTALL_CMAKEDIR})
  write_basic_package_version_file(
    ${PROJECT_BINARY_DIR}/lenetConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
  install(EXPORT lenetTargets NAMESPACE lenet:: FILE lenetTargets.cmake
          DESTINATION ${LENET_INSTALL_CMAKEDIR})
  install(FILES ${PROJECT_BINARY_DIR}/lenetConfig.cmake
                ${PROJECT_BINARY_DIR}/lenetConfigVersion.cmake
          DESTINATION ${LENET_INSTALL_CMAKEDIR})
endfunction()

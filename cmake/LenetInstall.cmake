# Install rules: headers under include/lenet/, static libraries, and lib/cmake/lenet/ with
# lenetConfig.cmake, lenetConfigVersion.cmake and the exported targets (namespace lenet::).
#
# The targets go into one of two export sets, decided by what they link:
#   lenetTargets.cmake      every target whose link closure has nothing of CUDA: lenet::common,
#                           lenet::cpu_ref, lenet::kernels_sim, and in a build without CUDA also
#                           lenet::engine and lenet::introspect
#   lenetCudaTargets.cmake  every target whose link closure reaches a CUDA:: target (the static
#                           CUDA runtime); only a build with CUDA has it: lenet::kernels,
#                           lenet::engine (its cuda backend), lenet::introspect (device queries)
# lenetConfig.cmake loads the second set only when it finds the CUDA toolkit, so the first
# works on a machine without one. Nobody declares CUDAToolkit as a package dependency by hand.

include(CMakePackageConfigHelpers)

set(LENET_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/lenet)

# lenet_install_target(target [HEADERS dir]): installs target (into its export set, chosen by
# lenet_install_package() once every target's links are known), and the headers below dir
# (relative to the calling CMakeLists.txt) into include/.
function(lenet_install_target target)
  cmake_parse_arguments(ARG "" "HEADERS" "" ${ARGN})
  set_property(GLOBAL APPEND PROPERTY LENET_INSTALLED_TARGETS ${target})
  if(ARG_HEADERS)
    install(DIRECTORY ${ARG_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
            FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp" PATTERN "*.cuh")
  endif()
endfunction()

# lenet_package_dependency("find_dependency(...)"): a line lenetConfig.cmake runs before it
# loads the targets, for every package an installed target links to (except CUDAToolkit, see
# above).
function(lenet_package_dependency line)
  set_property(GLOBAL APPEND PROPERTY LENET_PACKAGE_DEPENDENCIES "${line}")
endfunction()

# _lenet_links_cuda(target out): sets out to TRUE when the link libraries of target, followed
# through lenet's own targets ($<LINK_ONLY:> and $<BUILD_INTERFACE:> unwrapped, aliases
# resolved), name a CUDA:: target.
function(_lenet_links_cuda target out)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
  else()
    get_target_property(libs ${target} LINK_LIBRARIES)
  endif()
  set(found FALSE)
  foreach(lib IN LISTS libs)
    while(lib MATCHES "^\\$<(LINK_ONLY|BUILD_INTERFACE):(.*)>$")
      set(lib "${CMAKE_MATCH_2}")
    endwhile()
    if(lib MATCHES "^CUDA::")
      set(found TRUE)
    elseif(TARGET "${lib}")
      get_target_property(aliased ${lib} ALIASED_TARGET)
      if(aliased)
        set(lib ${aliased})
      endif()
      get_target_property(imported ${lib} IMPORTED)
      if(NOT imported)
        _lenet_links_cuda(${lib} found)
      endif()
    endif()
    if(found)
      break()
    endif()
  endforeach()
  set(${out} ${found} PARENT_SCOPE)
endfunction()

# Called once at the end of the top-level CMakeLists.txt.
function(lenet_install_package)
  get_property(targets GLOBAL PROPERTY LENET_INSTALLED_TARGETS)
  set(LENET_TARGETS "")
  set(LENET_CUDA_TARGETS "")
  foreach(target IN LISTS targets)
    get_target_property(name ${target} EXPORT_NAME)
    if(NOT name)
      set(name ${target})
    endif()
    list(APPEND LENET_TARGETS lenet::${name})
    _lenet_links_cuda(${target} needs_cuda)
    if(needs_cuda)
      set(export_set lenetCudaTargets)
      list(APPEND LENET_CUDA_TARGETS lenet::${name})
    else()
      set(export_set lenetTargets)
    endif()
    install(TARGETS ${target} EXPORT ${export_set}
            ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
            LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
            RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endforeach()

  get_property(deps GLOBAL PROPERTY LENET_PACKAGE_DEPENDENCIES)
  if(deps)
    list(REMOVE_DUPLICATES deps)
    list(JOIN deps "\n" LENET_FIND_DEPENDENCIES)
  else()
    set(LENET_FIND_DEPENDENCIES "")
  endif()
  if(LENET_CUDA)
    set(LENET_CUDA_VERSION ${CUDAToolkit_VERSION})
  else()
    set(LENET_CUDA_VERSION "")
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
  if(LENET_CUDA_TARGETS)
    install(EXPORT lenetCudaTargets NAMESPACE lenet:: FILE lenetCudaTargets.cmake
            DESTINATION ${LENET_INSTALL_CMAKEDIR})
  endif()
  install(FILES ${PROJECT_BINARY_DIR}/lenetConfig.cmake
                ${PROJECT_BINARY_DIR}/lenetConfigVersion.cmake
          DESTINATION ${LENET_INSTALL_CMAKEDIR})
endfunction()

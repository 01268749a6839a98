# lenet_add_library(<target> EXPORT_NAME <name> [INTERFACE] [SOURCES file...]): what every
# lenet library has in common, said once:
#   - the target (STATIC, or INTERFACE for header-only) and its alias lenet::<name>, which is
#     also its name in the installed package (EXPORT_NAME);
#   - public headers from include/ next to the calling CMakeLists.txt (installed to include/),
#     private ones from that folder itself;
#   - C++17 for it and its users; position-independent code, so a user may link the static
#     library into a shared one;
#   - the project's warnings (lenet_target_options) and install rules (lenet_install_target).
# The caller adds only what is particular: its sources by condition, links, definitions.
function(lenet_add_library target)
  cmake_parse_arguments(ARG "INTERFACE" "EXPORT_NAME" "SOURCES" ${ARGN})
  if(NOT ARG_EXPORT_NAME)
    message(FATAL_ERROR "lenet_add_library(${target}): EXPORT_NAME is required")
  endif()
  if(ARG_INTERFACE)
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  else()
    add_library(${target} STATIC ${ARG_SOURCES})
    set(scope PUBLIC)
    target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    lenet_target_options(${target})
  endif()
  add_library(lenet::${ARG_EXPORT_NAME} ALIAS ${target})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} ${scope} cxx_std_17)
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME})
  lenet_install_target(${target} HEADERS include/)
endfunction()

# Finds cuDNN (cudnn.h and libcudnn) and defines the imported target lenet::cudnn, which the
# cudnn backend of lenet::engine links. Included twice over: by LenetCuda.cmake when the project
# is configured, and, installed beside lenetConfig.cmake, by that file
# (lenet_package_dependency, engine/CMakeLists.txt), so that an installed lenet::engine holding
# the cudnn backend finds cuDNN again on the consumer's machine.
#
# Searches CUDNN_ROOT (a CMake or environment variable), the CUDA toolkit's directories when
# find_package(CUDAToolkit) has run, then the system's. NVIDIA's tarballs and packages put cuDNN
# in the toolkit (/usr/local/cuda/include, lib64) or under /usr (include, lib/<multiarch>);
# PyTorch's wheels in site-packages/nvidia/cudnn (include, lib/libcudnn.so.9, no unversioned
# name). Sets:
#   LENET_CUDNN_FOUND    TRUE when both were found (lenet::cudnn is then defined)
#   LENET_CUDNN_VERSION  "9.19.0", from cudnn_version.h
#   LENET_CUDNN_MISSING  why not, in one sentence, when not found
if(TARGET lenet::cudnn)
  set(LENET_CUDNN_FOUND TRUE)
  return()
endif()

set(_lenet_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT})
if(CUDAToolkit_FOUND)
  list(APPEND _lenet_cudnn_hints ${CUDAToolkit_LIBRARY_ROOT} ${CUDAToolkit_TARGET_DIR})
endif()
find_path(LENET_CUDNN_INCLUDE_DIR cudnn.h HINTS ${_lenet_cudnn_hints}
          PATH_SUFFIXES include include/${CMAKE_LIBRARY_ARCHITECTURE}
          DOC "directory of cudnn.h (lenet's cudnn backend)")
find_library(LENET_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 NAMES_PER_DIR HINTS ${_lenet_cudnn_hints}
             PATH_SUFFIXES lib64 lib lib/${CMAKE_LIBRARY_ARCHITECTURE}
             DOC "libcudnn (lenet's cudnn backend)")

set(LENET_CUDNN_FOUND FALSE)
set(LENET_CUDNN_VERSION "")
set(LENET_CUDNN_MISSING "")
if(NOT LENET_CUDNN_INCLUDE_DIR OR NOT LENET_CUDNN_LIBRARY)
  string(CONCAT LENET_CUDNN_MISSING "cuDNN was not found (cudnn.h and libcudnn: install "
                "NVIDIA's cudnn package, or set CUDNN_ROOT to its directory)")
else()
  set(_lenet_cudnn_version_h ${LENET_CUDNN_INCLUDE_DIR}/cudnn_version.h)
  if(EXISTS ${_lenet_cudnn_version_h})
    file(STRINGS ${_lenet_cudnn_version_h} _lenet_cudnn_defines
         REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) [0-9]+")
    foreach(_lenet_part MAJOR MINOR PATCHLEVEL)
      string(REGEX MATCH "CUDNN_${_lenet_part} ([0-9]+)" _lenet_match "${_lenet_cudnn_defines}")
      list(APPEND LENET_CUDNN_VERSION ${CMAKE_MATCH_1})
    endforeach()
    list(JOIN LENET_CUDNN_VERSION "." LENET_CUDNN_VERSION)
  endif()
  # The backend uses the cuDNN 8/9 legacy API (cudnnConvolutionForward, ...), which cuDNN 9
  # still ships.
  if(NOT LENET_CUDNN_VERSION MATCHES "^(8|9)\\.")
    string(CONCAT LENET_CUDNN_MISSING "the cuDNN found (${LENET_CUDNN_INCLUDE_DIR}, version "
                  "'${LENET_CUDNN_VERSION}') is not cuDNN 8 or 9")
  else()
    set(LENET_CUDNN_FOUND TRUE)
    add_library(lenet::cudnn SHARED IMPORTED)
    set_target_properties(lenet::cudnn PROPERTIES
      IMPORTED_LOCATION ${LENET_CUDNN_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${LENET_CUDNN_INCLUDE_DIR})
  endif()
endif()
unset(_lenet_cudnn_hints)
unset(_lenet_cudnn_version_h)
unset(_lenet_cudnn_defines)
unset(_lenet_part)
unset(_lenet_match)

# Decides whether this build has CUDA, and for which GPUs.
#
# LENET_WITH_CUDA=AUTO (default) builds the CUDA parts when nvcc is found; ON requires nvcc;
# OFF leaves them out. Without CUDA everything else (cpu_ref, the simulator, the engine's
# cpu and sim backends, the fatbin reader) still builds and tests.

set(LENET_WITH_CUDA AUTO CACHE STRING "Build the CUDA kernel library: AUTO, ON or OFF")
set_property(CACHE LENET_WITH_CUDA PROPERTY STRINGS AUTO ON OFF)
string(TOUPPER "${LENET_WITH_CUDA}" _lenet_with_cuda)
if(NOT _lenet_with_cuda MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "LENET_WITH_CUDA must be AUTO, ON or OFF, not '${LENET_WITH_CUDA}'")
endif()

# The release list: a cubin for each GPU generation CUDA 13 supports (Turing to Blackwell),
# plus PTX for compute_120 that the driver JIT-compiles on GPUs newer than the list.
set(LENET_RELEASE_CUDA_ARCHITECTURES 75-real 80-real 86-real 89-real 90-real 100-real 110-real 120)

set(LENET_CUDA OFF)
set(LENET_CUDNN OFF)  # the cudnn backend: CUDA, cuDNN and cuBLAS (cmake/LenetCudnn.cmake)
set(LENET_SKIPPED "")
if(NOT _lenet_with_cuda STREQUAL "OFF")
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # A user-set CMAKE_CUDA_ARCHITECTURES (command line, preset or environment) wins.
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT DEFINED ENV{CUDAARCHS})
      set(CMAKE_CUDA_ARCHITECTURES ${LENET_RELEASE_CUDA_ARCHITECTURES} CACHE STRING
          "CUDA architectures (lenet's release list by default)")
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(LENET_CUDA ON)
    message(STATUS "lenet: CUDA ${CMAKE_CUDA_COMPILER_VERSION}, architectures: ${CMAKE_CUDA_ARCHITECTURES}")
    # The cudnn backend and bench_ops also need cuDNN and cuBLAS (the toolkit's CUDA::cublas).
    include(LenetCudnn)
    if(LENET_CUDNN_FOUND AND TARGET CUDA::cublas)
      set(LENET_CUDNN ON)
      message(STATUS "lenet: cuDNN ${LENET_CUDNN_VERSION} (${LENET_CUDNN_LIBRARY}), "
                     "cuBLAS of CUDA ${CUDAToolkit_VERSION}")
    else()
      if(NOT TARGET CUDA::cublas)
        set(LENET_CUDNN_MISSING "the CUDA toolkit has no cuBLAS")
      endif()
      list(APPEND LENET_SKIPPED "the cudnn backend and bench_ops (${LENET_CUDNN_MISSING})")
    endif()
  elseif(_lenet_with_cuda STREQUAL "ON")
    message(FATAL_ERROR "LENET_WITH_CUDA=ON but no CUDA compiler (nvcc) was found; "
                        "install the CUDA toolkit, put nvcc on PATH or set CMAKE_CUDA_COMPILER")
  endif()
endif()
if(NOT LENET_CUDA)
  if(_lenet_with_cuda STREQUAL "OFF")
    set(_lenet_why "LENET_WITH_CUDA=OFF")
  else()
    set(_lenet_why "no CUDA compiler (nvcc) found")
  endif()
  list(APPEND LENET_SKIPPED
       "lenet_kernels, the cuda and cudnn backends and the gpu tests (${_lenet_why})")
endif()

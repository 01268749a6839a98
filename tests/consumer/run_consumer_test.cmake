# ctest driver (cmake -P) of install.consumer: installs the lenet build tree into a fresh prefix,
# then builds and runs programs against that prefix only.
#   1. tests/consumer/ with the CUDA toolkit hidden (no nvcc on PATH, find_package(CUDAToolkit)
#      disabled, CUDAToolkit_ROOT pointing nowhere): from a package built without CUDA every
#      target must work; from one built with CUDA exactly lenet_CUDA_TARGETS must be missing.
#      No compile or link command may name the toolkit. The C++ example of README.md is built
#      here against lenet::kernels_sim and must print the output README.md shows.
#   2. Only for a package built with CUDA, toolkit visible: tests/consumer/ again (now with
#      lenet::kernels and an engine holding the cuda backend), and the README.md example as
#      written: its CMakeLists.txt, linking lenet::kernels.
# A GPU program (name ending in _gpu, and the README.md project) on a machine without a usable
# GPU fails with cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100): that passes, unless
# LENET_REQUIRE_GPU=1 is set.
foreach(var LENET_BUILD_DIR LENET_README CONSUMER_SOURCE_DIR CONSUMER_WORK_DIR CONSUMER_GENERATOR
            CONSUMER_MAKE_PROGRAM CONSUMER_CXX_COMPILER CONSUMER_WITH_CUDA)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake: ${var} is not set")
  endif()
endforeach()

set(work ${CONSUMER_WORK_DIR})
set(prefix ${work}/prefix)
file(REMOVE_RECURSE ${work})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "consumer test: '${cmd}' failed (${rc})")
  endif()
endfunction()

# run_program(path [GPU] [EXPECT stdout]): runs a built program; see the GPU rule above.
function(run_program program)
  cmake_parse_arguments(ARG "GPU" "EXPECT" "" ${ARGN})
  execute_process(COMMAND ${program} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(STRIP "${out}" out)
  string(STRIP "${err}" err)
  message(STATUS "${program}: ${out} ${err}")
  if(rc EQUAL 0)
    if(DEFINED ARG_EXPECT AND NOT out STREQUAL ARG_EXPECT)
      message(FATAL_ERROR "consumer test: ${program} printed '${out}', README.md says '${ARG_EXPECT}'")
    endif()
    return()
  endif()
  if(ARG_GPU AND "${out} ${err}" MATCHES "cudaErrorInsufficientDriver \\(35\\)|cudaErrorNoDevice \\(100\\)")
    if("$ENV{LENET_REQUIRE_GPU}" STREQUAL "1")
      message(FATAL_ERROR "consumer test: LENET_REQUIRE_GPU=1 but ${program} found no usable GPU")
    endif()
    message(STATUS "consumer test: no usable GPU here; that CUDA error is the expected answer")
    return()
  endif()
  message(FATAL_ERROR "consumer test: ${program} failed (${rc})")
endfunction()

set(build_type_args "")
if(CONSUMER_BUILD_TYPE)
  set(build_type_args -DCMAKE_BUILD_TYPE=${CONSUMER_BUILD_TYPE})
  run(${CMAKE_COMMAND} --install ${LENET_BUILD_DIR} --prefix ${prefix} --config ${CONSUMER_BUILD_TYPE})
else()
  run(${CMAKE_COMMAND} --install ${LENET_BUILD_DIR} --prefix ${prefix})
endif()
foreach(f include/lenet/kernels.h include/lenet/error.h lib/cmake/lenet/lenetConfig.cmake
          lib/cmake/lenet/lenetConfigVersion.cmake lib/cmake/lenet/lenetTargets.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "consumer test: the install has no ${f}")
  endif()
endforeach()

set(san_args "")
if(CONSUMER_SANITIZE)
  set(san_args "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
               "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
endif()
set(project_args -G ${CONSUMER_GENERATOR} -DCMAKE_MAKE_PROGRAM=${CONSUMER_MAKE_PROGRAM}
    -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER} ${build_type_args} ${san_args}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

# The example of README.md: the fenced cmake, cpp and text (its output) blocks between the
# markers, written to ${work}/readme/{CMakeLists.txt,main.cpp} and readme_output.
file(READ ${LENET_README} readme)
set(begin_marker "<!-- lenet-readme-example: begin")
set(end_marker "<!-- lenet-readme-example: end -->")
string(FIND "${readme}" "${begin_marker}" begin)
string(FIND "${readme}" "${end_marker}" end)
if(begin LESS 0 OR end LESS begin)
  message(FATAL_ERROR "consumer test: ${LENET_README} has no '${begin_marker}' ... '${end_marker}' section")
endif()
math(EXPR length "${end} - ${begin}")
string(SUBSTRING "${readme}" ${begin} ${length} example)
function(readme_block lang out)
  string(FIND "${example}" "```${lang}\n" start)
  if(start LESS 0)
    message(FATAL_ERROR "consumer test: the README.md example has no ```${lang} block")
  endif()
  string(LENGTH "```${lang}\n" fence)
  math(EXPR start "${start} + ${fence}")
  string(SUBSTRING "${example}" ${start} -1 rest)
  string(FIND "${rest}" "```" stop)
  string(SUBSTRING "${rest}" 0 ${stop} block)
  set(${out} "${block}" PARENT_SCOPE)
endfunction()
readme_block(cmake readme_cmake)
readme_block(cpp readme_cpp)
readme_block(text readme_output)
string(STRIP "${readme_output}" readme_output)
file(WRITE ${work}/readme/CMakeLists.txt "${readme_cmake}")
file(WRITE ${work}/readme/main.cpp "${readme_cpp}")

# 1. The CUDA toolkit hidden. toolkit_dirs: the roots of the toolkits on PATH whose name says
# CUDA (/usr/local/cuda, /usr/local/cuda-13.0; not /usr, where a distribution may put nvcc).
set(path_without_nvcc "")
set(toolkit_dirs "")
string(REPLACE ":" ";" path_dirs "$ENV{PATH}")
foreach(dir IN LISTS path_dirs)
  if(EXISTS "${dir}/nvcc")
    get_filename_component(root "${dir}/.." ABSOLUTE)
    get_filename_component(real_root "${dir}/.." REALPATH)
    foreach(r IN ITEMS ${root} ${real_root})
      string(TOLOWER "${r}" lower)
      if(lower MATCHES "cuda[^/]*$")
        list(APPEND toolkit_dirs ${r})
      endif()
    endforeach()
  else()
    list(APPEND path_without_nvcc "${dir}")
  endif()
endforeach()
list(JOIN path_without_nvcc ":" path_without_nvcc)
set(build ${work}/build-no-toolkit)
run(${CMAKE_COMMAND} -E env --unset=CUDA_PATH --unset=CUDA_HOME --unset=CUDACXX
    --unset=CUDAToolkit_ROOT "PATH=${path_without_nvcc}"
    ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} ${project_args} --no-warn-unused-cli
    -DCMAKE_DISABLE_FIND_PACKAGE_CUDAToolkit=ON -DCUDAToolkit_ROOT=${work}/no-cuda-toolkit
    -DCONSUMER_CUDA_VISIBLE=OFF -DCONSUMER_README_MAIN=${work}/readme/main.cpp)
run(${CMAKE_COMMAND} -E env "PATH=${path_without_nvcc}" ${CMAKE_COMMAND} --build ${build})
# The commands themselves: nothing may reach the toolkit around find_package.
file(GLOB_RECURSE commands ${build}/build.ninja ${build}/flags.make ${build}/link.txt)
foreach(file IN LISTS commands)
  file(READ ${file} text)
  foreach(needle IN ITEMS cudart ${toolkit_dirs})
    string(FIND "${text}" "${needle}" at)
    if(at GREATER_EQUAL 0)
      message(FATAL_ERROR "consumer test: with the CUDA toolkit hidden, ${file} still names '${needle}'")
    endif()
  endforeach()
endforeach()
run_program(${build}/kernels_sim)
run_program(${build}/readme_sim EXPECT "${readme_output}")
if(EXISTS ${build}/engine_sim)
  run_program(${build}/engine_sim)
endif()

# 2. The CUDA toolkit visible, for a package built with CUDA.
if(CONSUMER_WITH_CUDA)
  set(build ${work}/build)
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} ${project_args}
      -DCONSUMER_CUDA_VISIBLE=ON)
  run(${CMAKE_COMMAND} --build ${build})
  run_program(${build}/kernels_gpu GPU)
  run_program(${build}/kernels_sim)
  run_program(${build}/engine_sim)

  set(build ${work}/build-readme)
  run(${CMAKE_COMMAND} -S ${work}/readme -B ${build} ${project_args})
  run(${CMAKE_COMMAND} --build ${build})
  if(NOT readme_cmake MATCHES "add_executable\\(([A-Za-z0-9_]+)")
    message(FATAL_ERROR "consumer test: the README.md example has no add_executable(name ...)")
  endif()
  run_program(${build}/${CMAKE_MATCH_1} GPU EXPECT "${readme_output}")
endif()

# ctest driver (cmake -P): installs the lenet build tree into a fresh prefix, then configures,
# builds and runs the consumer project against that prefix only.
foreach(var LENET_BUILD_DIR CONSUMER_SOURCE_DIR CONSUMER_WORK_DIR CONSUMER_GENERATOR CONSUMER_CXX_COMPILER)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_consumer_test.cmake: ${var} is not set")
  endif()
endforeach()

set(prefix ${CONSUMER_WORK_DIR}/prefix)
set(build ${CONSUMER_WORK_DIR}/build)
file(REMOVE_RECURSE ${prefix} ${build})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(JOIN ARGN " " cmd)
    message(FATAL_ERROR "consumer test: '${cmd}' failed (${rc})")
  endif()
endfunction()

set(config_args "")
if(CONSUMER_BUILD_TYPE)
  set(config_args --config ${CONSUMER_BUILD_TYPE})
endif()
run(${CMAKE_COMMAND} --install ${LENET_BUILD_DIR} --prefix ${prefix} ${config_args})

foreach(f include/lenet/kernels.h include/lenet/error.h lib/cmake/lenet/lenetConfig.cmake
          lib/cmake/lenet/lenetConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "consumer test: the install has no ${f}")
  endif()
endforeach()

set(san_args "")
if(CONSUMER_SANITIZE)
  set(san_args "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined"
               "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined")
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${build} -G ${CONSUMER_GENERATOR}
    -DCMAKE_CXX_COMPILER=${CONSUMER_CXX_COMPILER} -DCMAKE_BUILD_TYPE=${CONSUMER_BUILD_TYPE}
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF ${san_args})
run(${CMAKE_COMMAND} --build ${build})

set(ran 0)
foreach(app app app_sim)
  if(EXISTS ${build}/${app})
    run(${build}/${app})
    math(EXPR ran "${ran} + 1")
  endif()
endforeach()
if(ran EQUAL 0)
  message(FATAL_ERROR "consumer test: no consumer executable was built")
endif()

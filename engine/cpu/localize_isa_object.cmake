# One instruction set's copy of the cpu backend's ops, made safe to link beside the others:
#   cmake -DLINKER=ld -DOBJCOPY=objcopy -DNM=nm -DENTRY=lenet_cpu_ops_avx2 \
#         -DOBJECTS=cpu_ops.cpp.o -DOUTPUT=cpu_ops_avx2.o -P localize_isa_object.cmake
#
# Why: each copy of cpu_ops.cpp instantiates the same Eigen and standard-library templates
# (Eigen::internal::gebp_kernel<float, ...>, std::vector<float>::_M_default_append, ...), each
# compiled with its own -m flags. Such instances are weak symbols in COMDAT groups, and the
# linker keeps ONE of each name for the whole program: the baseline path could then run an
# AVX-512 GEMM kernel (SIGILL on a CPU without it) or the AVX-512 path a baseline one (slow,
# unnoticed). Our own namespace per level (LENET_CPU_ISA) cannot help here, as the names are
# Eigen's and std's; -fvisibility=hidden cannot either, as it only concerns shared libraries
# (and libstdc++ declares std:: with default visibility anyway). So each copy is made
# self-contained after compiling:
#   1. ld -r --force-group-allocation merges its objects into one and dissolves the COMDAT
#      groups (left in place, the final link would still pick one group per name);
#   2. objcopy --keep-global-symbol=ENTRY turns every other definition into a local symbol,
#      which the linker never matches against another file's;
#   3. nm proves it: ENTRY must be the only global definition left.
# References to what the copy does not define (libstdc++, libc, lenet::common's out-of-line
# code) stay undefined and resolve as usual: those are compiled once, for the baseline.
foreach(var LINKER OBJCOPY NM ENTRY OBJECTS OUTPUT)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "localize_isa_object.cmake: -D${var}=... is required")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "localize_isa_object.cmake: '${cmd}' failed (${rc}):\n${out}${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(merged "${OUTPUT}.merged.o")
run(${LINKER} -r --force-group-allocation -o ${merged} ${OBJECTS})
run(${OBJCOPY} --keep-global-symbol=${ENTRY} ${merged} ${OUTPUT})
file(REMOVE ${merged})

run(${NM} --defined-only --extern-only ${OUTPUT})
string(REGEX REPLACE "\n$" "" globals "${run_output}")
string(REPLACE "\n" ";" globals "${globals}")
set(others "")
foreach(line IN LISTS globals)
  if(NOT line MATCHES " T ${ENTRY}$")
    list(APPEND others "${line}")
  endif()
endforeach()
list(LENGTH globals count)
if(others OR NOT count EQUAL 1)
  string(REPLACE ";" "\n  " others "${others}")
  file(REMOVE ${OUTPUT})
  message(FATAL_ERROR "localize_isa_object.cmake: ${OUTPUT} must define exactly one global "
                      "symbol, ${ENTRY}; it also defines:\n  ${others}")
endif()

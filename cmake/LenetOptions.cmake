# Compiler options every lenet target gets through lenet_target_options().

if(LENET_SANITIZE)
  set(_lenet_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${_lenet_san}>")
  add_link_options(${_lenet_san})
endif()

function(lenet_target_options target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unknown-pragmas>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>
    # Source lines in the device code of every build (no cost at run time): compute-sanitizer,
    # cuda-gdb and Nsight Compute then name the kernel line of an error or a hot spot.
    $<$<COMPILE_LANGUAGE:CUDA>:-lineinfo>)
  if(LENET_WERROR)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Werror>
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
endfunction()

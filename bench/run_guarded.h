// The bench programs' main(): an exception out of the program's body becomes one line on
// stderr, "<program>: <what>", and exit status 1.
#pragma once

#include <cstdio>
#include <exception>

namespace lenet::bench {

template <typename Body>
int run_guarded(const char* program, Body body, int argc, char** argv) {
  try {
    return body(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

}  // namespace lenet::bench

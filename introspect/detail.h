// Helpers shared by the introspect sources (not installed).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <lenet/introspect/bytes.h>

namespace lenet::introspect::detail {

// Runs f(); a FormatError it throws comes back with `where` in front, so that the message
// reads from the outside in: "lib.a: member x.o: section .nv_fatbin: container 1: ...".
template <typename F>
auto with_context(const std::string& where, F&& f) -> decltype(std::forward<F>(f)()) {
  try {
    return std::forward<F>(f)();
  } catch (const FormatError& e) {
    throw FormatError(where + ": " + e.what());
  }
}

// The readable form of an Itanium C++ ABI name ("_Z3fooPf" -> "foo(float*)"); other names
// (extern "C" kernels) come back unchanged.
std::string demangle(const std::string& name);

// True when the text starts, after blanks and comments, with ".version": a PTX file.
bool looks_like_ptx(std::string_view text);

}  // namespace lenet::introspect::detail

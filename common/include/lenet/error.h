// Errors shared by every lenet library. Libraries throw; applications catch in main.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <string>

namespace lenet {

// A failed CUDA runtime call or kernel launch. what() reads
// "file:line: expr: cudaErrorName (code): error string"; code() is the cudaError_t value.
class CudaError : public std::runtime_error {
 public:
  CudaError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

}  // namespace lenet

// Throws std::invalid_argument with the streamed message when cond is false:
//   LENET_CHECK(stride >= 1, "conv2d_forward: stride must be >= 1, got " << stride);
#define LENET_CHECK(cond, msg)                                  \
  do {                                                          \
    if (!(cond)) {                                              \
      std::ostringstream lenet_check_stream_;                   \
      lenet_check_stream_ << msg;                               \
      throw std::invalid_argument(lenet_check_stream_.str());   \
    }                                                           \
  } while (0)

namespace lenet {

// The null-pointer check every entry point makes: "op: name is null".
inline void check_not_null(const char* op, const char* name, const void* p) {
  LENET_CHECK(p != nullptr, op << ": " << name << " is null");
}

// The same for several pointers at once: names is their comma-separated list as written in the
// call ("x, w, y"), ptrs the pointers in that order; the first null one is named.
inline void check_not_null(const char* op, const char* names,
                           std::initializer_list<const void*> ptrs) {
  const std::string list(names);
  std::size_t begin = 0;
  for (const void* p : ptrs) {
    const std::size_t end = std::min(list.find(',', begin), list.size());
    if (p == nullptr) check_not_null(op, list.substr(begin, end - begin).c_str(), p);
    begin = list.find_first_not_of(' ', end + 1);
  }
}

}  // namespace lenet

// check_not_null with the arguments' names taken from the expressions:
//   LENET_CHECK_NOT_NULL("conv2d_forward", x, w);   // w null: "conv2d_forward: w is null"
#define LENET_CHECK_NOT_NULL(op, ...) ::lenet::check_not_null((op), #__VA_ARGS__, {__VA_ARGS__})

// Errors shared by every lenet library. Libraries throw; applications catch in main.
#pragma once

#include <cstring>
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
  std::size_t index = 0;
  for (const void* p : ptrs) {
    if (p == nullptr) {  // only then find the name: the check allocates nothing otherwise
      const char* begin = names;
      for (std::size_t i = 0; i < index; ++i) {
        begin = std::strchr(begin, ',') + 1;
        while (*begin == ' ') ++begin;
      }
      const char* end = std::strchr(begin, ',');
      check_not_null(op, (end != nullptr ? std::string(begin, end) : std::string(begin)).c_str(),
                     p);
    }
    ++index;
  }
}

}  // namespace lenet

// check_not_null with the arguments' names taken from the expressions:
//   LENET_CHECK_NOT_NULL("conv2d_forward", x, w);   // w null: "conv2d_forward: w is null"
#define LENET_CHECK_NOT_NULL(op, ...) ::lenet::check_not_null((op), #__VA_ARGS__, {__VA_ARGS__})

// Sets (or, with nullptr, unsets) an environment variable for one scope, then restores it:
//   const lenet::test::ScopedEnv force("CUDA_FORCE_PTX_JIT", "1");
#pragma once

#include <cstdlib>

#include <optional>
#include <string>

namespace lenet::test {

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_ ? old_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

  // Changes the value within the scope; the destructor still restores the one from before.
  void set(const char* value) const {
    if (value != nullptr) {
      setenv(name_, value, 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace lenet::test

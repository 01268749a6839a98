// Runs a program through the shell as a user would, and returns its exit status and what it
// printed: the app tests (train_mnist, cuda_doctor) call their built binaries with this.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "support/temp_dir.h"

namespace lenet::test {

struct CommandResult {
  int status = -1;  // the exit status; -1 when the command could not start or was killed
  std::string out;  // stdout, and stderr too with Stderr::kMerged
  std::string err;  // stderr with Stderr::kSeparate
};

enum class Stderr { kSeparate, kMerged };

// command is a shell command line (program, arguments, environment assignments in front).
inline CommandResult run_command(const std::string& command, Stderr stderr_mode) {
  const std::string err_path = process_temp_dir().file("command_stderr");
  const std::string line =
      command + (stderr_mode == Stderr::kMerged ? " 2>&1" : " 2>" + err_path);
  CommandResult r;
  FILE* pipe = popen(line.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (stderr_mode == Stderr::kSeparate) {
    r.err = read_file(err_path);
    std::remove(err_path.c_str());
  }
  return r;
}

}  // namespace lenet::test

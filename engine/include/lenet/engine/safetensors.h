// The safetensors file format, float32 only: the container lenet's checkpoints are written in,
// readable by safetensors.torch.load_file and every other safetensors implementation.
//
//   u64 little-endian N | N bytes of UTF-8 JSON, padded with spaces | data buffer
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}
// Offsets are relative to the start of the data buffer; the tensors tile the buffer exactly
// (no gaps, no overlaps, nothing after the last one). Data is row-major little-endian float32.
// docs/checkpoints.md has the details and the tensor names the engine uses.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace lenet::engine {

// One float32 tensor, row-major. data.size() == product(shape); shape [] is a scalar (one
// element) and a zero dimension gives an empty tensor, as the format allows.
struct NamedTensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

struct SafetensorsFile {
  // In file order: save writes them in this order, load returns them in data-buffer order.
  std::vector<NamedTensor> tensors;
  // The "__metadata__" string map (absent from the file when empty).
  std::map<std::string, std::string> metadata;

  // The tensor called name, or null when there is none.
  const NamedTensor* find(const std::string& name) const;
};

// A checkpoint that cannot be read or written. what() is one line naming the file and the
// defect: "run/lenet.safetensors: tensor 'fc1.weight': dtype 'F16' is not supported (lenet
// reads F32 only)" or "run/lenet.safetensors: cannot write temporary file
// run/lenet.safetensors.tmp: File too large".
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes file to path atomically: everything goes to path + ".tmp" in the same directory, which
// is flushed and fsync'ed, then renamed over path, and the directory is fsync'ed. On any failure
// the temporary is removed, path is left as it was, and CheckpointError says which step failed
// and why (strerror). A ".tmp" left by a killed process is overwritten by the next save; two
// processes must not save to the same path at once.
// Throws std::invalid_argument, before touching the file system, for a tensor with an empty,
// duplicate or reserved ("__metadata__") name, a negative dimension, or data.size() !=
// product(shape).
void save_safetensors(const std::string& path, const SafetensorsFile& file);

// Reads and validates path. Every defect (short file, absurd header length, JSON that does not
// parse, duplicate names, a dtype other than F32, bad shapes or offsets, gaps, overlaps, trailing
// bytes, non-string metadata) throws CheckpointError naming the file and the tensor.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace lenet::engine

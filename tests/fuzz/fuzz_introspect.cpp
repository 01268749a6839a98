// libFuzzer entry point: any bytes, read as a file the way cuda_doctor inspect reads one (every
// payload decoded), then judged for a few GPUs. A FormatError is the expected answer to bad
// input; anything else (a crash, a sanitizer report, another exception, a timeout, a huge
// allocation) is a bug. Run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>

#include <lenet/introspect/fatbin.h>
#include <lenet/introspect/selection.h>

using namespace lenet::introspect;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const FileInfo info = inspect_bytes(ByteSpan(data, size), "fuzz-input");
    static_cast<void>(to_string(info));
    for (const ComputeCapability cc :
         {ComputeCapability{7, 5}, ComputeCapability{9, 0}, ComputeCapability{12, 1}}) {
      SelectionQuery query;
      query.cc = cc;
      query.driver_version = 12080;
      static_cast<void>(judge_file(info, query));
    }
  } catch (const FormatError&) {
  }
  return 0;
}

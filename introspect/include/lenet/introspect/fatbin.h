// What GPU code a binary carries: the CUDA fatbins inside ELF files and static libraries.
//
// nvcc packs the device code of each compilation unit into a fatbin: a container holding one
// entry per image it compiled, a cubin (machine code for one SM generation, e.g. sm_86) or PTX
// (virtual assembly that the driver compiles for newer GPUs, e.g. compute_120). Where it sits:
//
//   host ELF (.o, executable, .so)
//     section .nv_fatbin       containers of ordinary code (compilation units, device link)
//     section __nv_relfatbin   containers of relocatable device code (nvcc -rdc)
//     section .nvFatBinSegment 24-byte wrappers {u32 magic 0x466243B1, u32 version, u64 address
//                              of a container, u64 more}: version 1 registers a compilation
//                              unit's container, version 2 the output of the device link
//   static library (.a)        an ar archive of such .o files
//
//   container: 16-byte header {u32 magic 0xBA55ED50, u16 version 1, u16 header size 16,
//              u64 size of the entries that follow}; containers may sit back to back in one
//              section, with zero padding between them.
//   entry:     header {u16 kind @0x00, u32 header size @0x04, u64 payload size @0x08 (padded),
//              u32 compressed size @0x10, u32 options offset @0x14, u16 minor @0x18,
//              u16 major @0x1a, u32 arch @0x1c, u64 flags @0x28, u64 uncompressed size
//              @0x38, then options}; the payload follows the header, and the next entry
//              starts at entry + header size + payload size.
//
// Everything is read defensively: sizes and offsets are checked against what contains them
// before use, and a file that breaks the layout gives a FormatError naming the file, the
// place and the defect. docs/fatbins.md describes the layout with real examples.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lenet/introspect/bytes.h>
#include <lenet/introspect/elf.h>

namespace lenet::introspect {

inline constexpr std::uint32_t kFatbinMagic = 0xBA55ED50;
inline constexpr std::uint32_t kFatbinWrapperMagic = 0x466243B1;
inline constexpr std::uint64_t kContainerHeaderSize = 16;
// The fixed fields of an entry header end with the uncompressed size at 0x38..0x40; nvcc
// writes 64 to 120 bytes (options and an identifier follow the fixed fields).
inline constexpr std::uint64_t kEntryMinHeaderSize = 64;
// No real payload comes near this; a larger declared size is treated as hostile.
inline constexpr std::uint64_t kMaxPayloadSize = std::uint64_t{1} << 30;

// Entry flag bits (u64 at 0x28).
inline constexpr std::uint64_t kFlag64Bit = 0x1;
inline constexpr std::uint64_t kFlagDebug = 0x2;  // compiled with -G
inline constexpr std::uint64_t kFlagLinux = 0x10;
inline constexpr std::uint64_t kFlagLz4 = 0x2000;      // payload is a raw LZ4 block
inline constexpr std::uint64_t kFlagZstd = 0x8000;     // payload is a ZSTD frame
inline constexpr std::uint64_t kFlagArchA = 0x100000;  // sm_90a: only that exact GPU
inline constexpr std::uint64_t kFlagArchF = 0x200000;  // sm_100f: that family

enum class FileKind {
  kHostElf,  // object, executable or shared library
  kArchive,  // ar static library
  kFatbin,   // a bare fatbin (nvcc -fatbin): containers from the first byte
  kCubin,    // a bare cubin (nvcc -cubin): an ELF with e_machine 190
  kPtx,      // PTX text (nvcc -ptx)
};

enum class EntryKind { kPtx, kCubin, kLtoIr, kUnknown };  // kind 1, 2, 8, anything else

enum class Compression { kNone, kLz4, kZstd };

enum class ContainerRole {
  kCompilationUnit,  // a .cu file's own images (wrapper version 1)
  kDeviceLink,       // the output of the device link (wrapper version 2)
  kRelocatable,      // relocatable device code (__nv_relfatbin), input to a device link
  kUnknown,          // no wrapper points at it (stripped file, bare fatbin)
};

struct KernelName {
  std::string mangled;    // as in the symbol table: "_ZL19relu_forward_kernelPKfPfl"
  std::string demangled;  // "relu_forward_kernel(float const*, float*, long)"; extern "C"
                          // names are the same in both
};

// What a cubin's own ELF says.
struct CubinInfo {
  unsigned sm = 0;                  // 86 for sm_86; the 'a'/'f' suffix is only in the entry flags
  std::uint32_t elf_flags = 0;      // e_flags, which hold the SM number
  std::uint8_t abi_version = 0;     // EI_ABIVERSION: 8 (CUDA 13): SM in e_flags bits 8-15;
                                    // 7 (older cubins): SM in bits 0-7
  std::vector<KernelName> kernels;  // __global__ functions, sorted by mangled name
  std::string toolkit;              // "13.0.88", from .note.nv.tkinfo; empty without the note
};

// What a PTX text says.
struct PtxInfo {
  std::string isa_version;          // "9.0", from ".version 9.0"
  std::string target;               // "sm_120", the first word of ".target sm_120"
  std::vector<KernelName> entries;  // ".entry" functions (kernels), in file order
};

struct FatbinEntry {
  std::uint64_t offset = 0;  // file offset of the entry header
  EntryKind kind = EntryKind::kUnknown;
  std::uint16_t raw_kind = 0;
  unsigned arch_number = 0;         // 86, 90, 120
  char arch_suffix = 0;             // 'a', 'f' or 0
  std::string arch;                 // "sm_86", "sm_90a", "sm_100f", "compute_120", "lto_89"
  std::uint16_t version_major = 0;  // PTX: the PTX ISA version (9.0); cubin: 1.8
  std::uint16_t version_minor = 0;
  std::uint64_t flags = 0;
  Compression compression = Compression::kNone;
  std::uint32_t header_size = 0;
  std::uint64_t payload_offset = 0;     // file offset of the payload (offset + header_size)
  std::uint64_t padded_size = 0;        // payload bytes reserved before the next entry
  std::uint64_t stored_size = 0;        // bytes of the payload proper (compressed or not)
  std::uint64_t uncompressed_size = 0;  // == stored_size when not compressed
  // Filled when the payload was decoded (ReadOptions::decode_payloads): cubin for kCubin,
  // ptx for kPtx. LTO-IR is not decoded.
  std::optional<CubinInfo> cubin;
  std::optional<PtxInfo> ptx;
};

struct FatbinContainer {
  std::string member;   // archive member it came from ("relu.cu.o"); empty outside archives
  std::string section;  // ".nv_fatbin" or "__nv_relfatbin"; empty for a bare fatbin file
  int index = 0;        // position in its section: 0, 1, ...
  ContainerRole role = ContainerRole::kUnknown;
  std::uint64_t offset = 0;  // file offset of the container header
  std::uint64_t size = 0;    // header and entries
  std::vector<FatbinEntry> entries;
  // The toolkit that built its first cubin ("13.0.88", from the cubin's .note.nv.tkinfo; one
  // nvcc run builds all the images of a container); empty when it has no cubin, the cubin has
  // no note, or the note was not read (ReadOptions::read_toolkit).
  std::string toolkit;
};

struct FileInfo {
  std::string path;
  FileKind kind = FileKind::kHostElf;
  std::vector<FatbinContainer> containers;  // host ELF, archive, bare fatbin
  std::optional<CubinInfo> cubin;           // bare cubin
  std::optional<PtxInfo> ptx;               // PTX text
  std::vector<std::string> needed;          // DT_NEEDED of a host ELF: "libcudart.so.13", ...
};

struct ReadOptions {
  // Decompress every cubin and PTX payload and read its kernels. Off: only the headers are
  // read (fast on large libraries), and FatbinEntry::cubin/ptx stay empty.
  bool decode_payloads = true;
  // Read the toolkit note of the first cubin of each container (FatbinContainer::toolkit)
  // without decoding the rest: every stored cubin, and the first 8 compressed ones of each
  // fatbin section (decompressing them all would cost seconds on large libraries). Implied,
  // for every container, by decode_payloads.
  bool read_toolkit = false;
};

// Reads the file at path (mapped, never copied). Throws FormatError when it breaks its format,
// std::system_error when it cannot be opened; decoding errors name the file too.
FileInfo inspect_file(const std::string& path, const ReadOptions& options = {});
// The same for bytes in memory; `name` stands for the path in the result and in errors.
FileInfo inspect_bytes(ByteSpan bytes, const std::string& name, const ReadOptions& options = {});

// The pieces inspect_file is made of, for tests and tools.

// Containers in the bytes of a .nv_fatbin/__nv_relfatbin section or a bare fatbin file.
// Fills entries (and decodes them if asked); member, section and role are left to the caller.
std::vector<FatbinContainer> parse_fatbin(ByteSpan bytes, const ReadOptions& options = {});

// Decodes the cubin and PTX payloads of a container read without ReadOptions::decode_payloads
// (fills FatbinEntry::cubin and ::ptx). `file` as for read_payload.
void decode_entries(ByteSpan file, FatbinContainer& container);

// The payload of `entry` as the driver would see it: decompressed, with the declared size.
// `file` is the whole inspected file (the bytes inspect_bytes got, or the mapped file).
std::vector<std::uint8_t> read_payload(ByteSpan file, const FatbinEntry& entry);

// Undoes the compression of a stored payload; the result must have exactly
// uncompressed_size bytes (at most kMaxPayloadSize).
std::vector<std::uint8_t> decompress(ByteSpan stored, Compression compression,
                                     std::uint64_t uncompressed_size);

// Reads a cubin ELF: SM from e_flags, kernels from the symbol table, toolkit from its note.
CubinInfo parse_cubin(ByteSpan bytes);
// The toolkit version a cubin's .note.nv.tkinfo records: "13.0.88" from "Cuda compilation
// tools, release 13.0, V13.0.88" (the version ptxas or nvlink printed); empty without the note.
std::string cubin_toolkit(const ElfFile& cubin);
// Reads PTX text up to its first NUL (fatbins store PTX NUL-terminated).
PtxInfo parse_ptx(std::string_view text);

// "sm_90a", "compute_120", "lto_89" (an unknown kind gives "arch_89").
std::string arch_name(EntryKind kind, unsigned number, char suffix);

std::string to_string(FileKind kind);
std::string to_string(EntryKind kind);
std::string to_string(Compression compression);
std::string to_string(ContainerRole role);
// One line per entry, a heading line per container, for logs and test failure messages.
std::string to_string(const FatbinEntry& entry);
std::string to_string(const FatbinContainer& container);
std::string to_string(const FileInfo& info);

}  // namespace lenet::introspect

// Fatbin containers and entries, and the decompression of their payloads.
#include <lenet/introspect/fatbin.h>

#include <lz4.h>
#include <zstd.h>

#include <climits>
#include <sstream>

#include "detail.h"

namespace lenet::introspect {

namespace {

EntryKind entry_kind(std::uint16_t raw) {
  switch (raw) {
    case 1: return EntryKind::kPtx;
    case 2: return EntryKind::kCubin;
    case 8: return EntryKind::kLtoIr;
    default: return EntryKind::kUnknown;
  }
}

// Reads and checks one entry header at `pos` of a container's body.
FatbinEntry parse_entry_header(ByteSpan body, std::uint64_t pos) {
  const ByteSpan fixed = body.sub(pos, kEntryMinHeaderSize, "entry header");
  FatbinEntry e;
  e.offset = fixed.file_offset();
  e.raw_kind = fixed.u16(0x00);
  e.kind = entry_kind(e.raw_kind);
  e.header_size = fixed.u32(0x04);
  // The next entry starts at pos + header size + payload size: a header shorter than its own
  // fixed fields would make entries overlap, and a zero-size one would loop forever.
  if (e.header_size < kEntryMinHeaderSize) {
    throw FormatError("entry header size " + std::to_string(e.header_size) +
                      " is smaller than the " + std::to_string(kEntryMinHeaderSize) +
                      " bytes of its fixed fields");
  }
  body.sub(pos, e.header_size, "entry header");
  e.padded_size = fixed.u64(0x08);
  e.payload_offset = body.sub(pos + e.header_size, e.padded_size, "entry payload").file_offset();
  const std::uint32_t compressed_size = fixed.u32(0x10);
  e.version_minor = fixed.u16(0x18);
  e.version_major = fixed.u16(0x1a);
  e.arch_number = fixed.u32(0x1c);
  e.flags = fixed.u64(0x28);
  const std::uint64_t declared_uncompressed = fixed.u64(0x38);

  const bool lz4 = (e.flags & kFlagLz4) != 0;
  const bool zstd = (e.flags & kFlagZstd) != 0;
  if (lz4 && zstd) {
    throw FormatError("entry flags " + hex(e.flags) + " ask for both LZ4 and ZSTD compression");
  }
  const bool arch_a = (e.flags & kFlagArchA) != 0;
  const bool arch_f = (e.flags & kFlagArchF) != 0;
  if (arch_a && arch_f) {
    throw FormatError("entry flags " + hex(e.flags) + " ask for both an 'a' and an 'f' target");
  }
  e.arch_suffix = arch_a ? 'a' : (arch_f ? 'f' : 0);
  e.arch = arch_name(e.kind, e.arch_number, e.arch_suffix);

  e.compression = lz4 ? Compression::kLz4 : (zstd ? Compression::kZstd : Compression::kNone);
  if (e.compression == Compression::kNone) {
    // Stored as is: the uncompressed-size field is 0, and the payload is the padded bytes.
    e.stored_size = e.padded_size;
    e.uncompressed_size = e.padded_size;
  } else {
    if (compressed_size == 0 || compressed_size > e.padded_size) {
      throw FormatError("compressed size " + hex(compressed_size) +
                        " does not fit the payload of " + hex(e.padded_size) + " bytes");
    }
    if (declared_uncompressed == 0 || declared_uncompressed > kMaxPayloadSize) {
      throw FormatError("uncompressed size " + hex(declared_uncompressed) +
                        " is absurd (it must be between 1 and " + hex(kMaxPayloadSize) + ")");
    }
    e.stored_size = compressed_size;
    e.uncompressed_size = declared_uncompressed;
  }
  return e;
}

void decode_entry(ByteSpan stored, FatbinEntry& e) {
  if (e.kind != EntryKind::kCubin && e.kind != EntryKind::kPtx) return;  // LTO-IR: opaque
  const std::vector<std::uint8_t> bytes = decompress(stored, e.compression, e.uncompressed_size);
  const ByteSpan payload(bytes.data(), bytes.size());
  if (e.kind == EntryKind::kCubin) {
    CubinInfo cubin = parse_cubin(payload);
    if (cubin.sm != e.arch_number) {
      throw FormatError("the cubin's ELF header says sm_" + std::to_string(cubin.sm) +
                        " but the entry header says " + e.arch);
    }
    e.cubin = std::move(cubin);
  } else {
    e.ptx = parse_ptx(payload.chars());
  }
}

// Reading the toolkit of a compressed cubin means decompressing it (libcublasLt.so.13 has 2782
// containers: 4 s instead of 0.2 s), so only this many per fatbin section are read; stored
// cubins are read in place, all of them.
constexpr int kCompressedToolkitReads = 8;

// The toolkit note of a cubin entry that was not decoded: a stored cubin is read in place, a
// compressed one is decompressed first while `*compressed_reads` lasts (else: empty).
std::string toolkit_of_stored_cubin(ByteSpan stored, const FatbinEntry& e, int* compressed_reads) {
  if (e.compression == Compression::kNone) return cubin_toolkit(ElfFile(stored));
  if (*compressed_reads <= 0) return "";
  --*compressed_reads;
  const std::vector<std::uint8_t> bytes = decompress(stored, e.compression, e.uncompressed_size);
  return cubin_toolkit(ElfFile(ByteSpan(bytes.data(), bytes.size())));
}

FatbinContainer parse_container(ByteSpan bytes, std::uint64_t pos, const ReadOptions& options,
                                int* compressed_reads) {
  const ByteSpan header = bytes.sub(pos, kContainerHeaderSize, "container header");
  const std::uint32_t magic = header.u32(0);
  if (magic != kFatbinMagic) {
    throw FormatError("bad magic " + hex(magic) + ", expected " + hex(kFatbinMagic));
  }
  const std::uint16_t version = header.u16(4);
  if (version != 1) {
    throw FormatError("container version " + std::to_string(version) +
                      " is not supported (only 1)");
  }
  const std::uint16_t header_size = header.u16(6);
  if (header_size < kContainerHeaderSize) {
    throw FormatError("container header size " + std::to_string(header_size) + " is smaller than " +
                      std::to_string(kContainerHeaderSize));
  }
  const std::uint64_t body_size = header.u64(8);
  bytes.sub(pos, header_size, "container header");
  const ByteSpan body = bytes.sub(pos + header_size, body_size, "container entries");

  FatbinContainer c;
  c.offset = header.file_offset();
  c.size = header_size + body_size;
  // Each step advances by at least kEntryMinHeaderSize bytes, so the loop ends.
  for (std::uint64_t at = 0; at < body.size();) {
    const int index = static_cast<int>(c.entries.size());
    detail::with_context(
        "entry " + std::to_string(index) + " at " + hex(body.file_offset() + at), [&] {
          FatbinEntry e = parse_entry_header(body, at);
          if (options.decode_payloads) {
            const ByteSpan stored = body.sub(at + e.header_size, e.stored_size, "entry payload");
            detail::with_context(to_string(e.kind) + " " + e.arch + " payload",
                                 [&] { decode_entry(stored, e); });
          }
          at += e.header_size + e.padded_size;
          c.entries.push_back(std::move(e));
        });
  }
  if (options.decode_payloads || options.read_toolkit) {
    for (const FatbinEntry& e : c.entries) {
      if (e.kind != EntryKind::kCubin) continue;
      c.toolkit = e.cubin ? e.cubin->toolkit : detail::with_context(e.arch + " cubin payload", [&] {
        const ByteSpan stored =
            bytes.sub(e.payload_offset - bytes.file_offset(), e.stored_size, "entry payload");
        return toolkit_of_stored_cubin(stored, e, compressed_reads);
      });
      break;
    }
  }
  return c;
}

std::vector<std::uint8_t> lz4_block(ByteSpan stored, std::uint64_t size) {
  // One LZ4 input byte expands to at most 255 output bytes (a match-length byte of 255); a
  // larger declared size is a lie, and refusing it avoids allocating for it.
  if (stored.size() > INT_MAX || size > INT_MAX || size > stored.size() * 255) {
    throw FormatError("an LZ4 block of " + hex(stored.size()) + " bytes cannot hold " + hex(size) +
                      " bytes");
  }
  std::vector<std::uint8_t> out(size);
  const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(stored.data()),
                                      reinterpret_cast<char*>(out.data()),
                                      static_cast<int>(stored.size()), static_cast<int>(size));
  if (got < 0) {
    throw FormatError("corrupt LZ4 block (LZ4_decompress_safe returned " + std::to_string(got) +
                      ")");
  }
  if (static_cast<std::uint64_t>(got) != size) {
    throw FormatError("LZ4 block holds " + hex(static_cast<std::uint64_t>(got)) +
                      " bytes but the entry declares " + hex(size));
  }
  return out;
}

std::vector<std::uint8_t> zstd_frame(ByteSpan stored, std::uint64_t size) {
  const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (content == ZSTD_CONTENTSIZE_ERROR) {
    throw FormatError("payload is not a ZSTD frame (bad magic or frame header)");
  }
  if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != size) {
    throw FormatError("ZSTD frame holds " + hex(content) + " bytes but the entry declares " +
                      hex(size));
  }
  std::vector<std::uint8_t> out(size);
  const std::size_t got = ZSTD_decompress(out.data(), out.size(), stored.data(), stored.size());
  if (ZSTD_isError(got)) {
    throw FormatError(std::string("corrupt ZSTD frame: ") + ZSTD_getErrorName(got));
  }
  if (got != size) {
    throw FormatError("ZSTD frame holds " + hex(got) + " bytes but the entry declares " +
                      hex(size));
  }
  return out;
}

}  // namespace

std::vector<FatbinContainer> parse_fatbin(ByteSpan bytes, const ReadOptions& options) {
  std::vector<FatbinContainer> out;
  int compressed_reads = kCompressedToolkitReads;
  std::uint64_t pos = 0;
  while (pos < bytes.size()) {
    if (bytes.u8(pos) == 0) {  // zero padding between containers
      ++pos;
      continue;
    }
    const int index = static_cast<int>(out.size());
    FatbinContainer c = detail::with_context(
        "container " + std::to_string(index) + " at " + hex(bytes.file_offset() + pos),
        [&] { return parse_container(bytes, pos, options, &compressed_reads); });
    c.index = index;
    pos += c.size;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::uint8_t> decompress(ByteSpan stored, Compression compression,
                                     std::uint64_t uncompressed_size) {
  if (uncompressed_size > kMaxPayloadSize) {
    throw FormatError("uncompressed size " + hex(uncompressed_size) + " is over the limit of " +
                      hex(kMaxPayloadSize) + " bytes");
  }
  switch (compression) {
    case Compression::kNone:
      if (stored.size() != uncompressed_size) {
        throw FormatError("stored payload has " + hex(stored.size()) + " bytes, not " +
                          hex(uncompressed_size));
      }
      return std::vector<std::uint8_t>(stored.data(), stored.data() + stored.size());
    case Compression::kLz4: return lz4_block(stored, uncompressed_size);
    case Compression::kZstd: return zstd_frame(stored, uncompressed_size);
  }
  throw FormatError("unknown compression");
}

void decode_entries(ByteSpan file, FatbinContainer& container) {
  for (FatbinEntry& e : container.entries) {
    if (e.cubin || e.ptx) continue;
    detail::with_context("entry at " + hex(e.offset), [&] {
      if (e.payload_offset < file.file_offset()) {
        throw FormatError("payload lies before the given bytes");
      }
      const ByteSpan stored =
          file.sub(e.payload_offset - file.file_offset(), e.stored_size, "entry payload");
      detail::with_context(to_string(e.kind) + " " + e.arch + " payload",
                           [&] { decode_entry(stored, e); });
    });
  }
}

std::vector<std::uint8_t> read_payload(ByteSpan file, const FatbinEntry& entry) {
  if (entry.payload_offset < file.file_offset()) {
    throw FormatError("entry payload at " + hex(entry.payload_offset) +
                      " lies before the given bytes (which start at " + hex(file.file_offset()) +
                      ")");
  }
  const ByteSpan stored =
      file.sub(entry.payload_offset - file.file_offset(), entry.stored_size, "entry payload");
  return decompress(stored, entry.compression, entry.uncompressed_size);
}

std::string arch_name(EntryKind kind, unsigned number, char suffix) {
  std::string prefix;
  switch (kind) {
    case EntryKind::kPtx: prefix = "compute_"; break;
    case EntryKind::kCubin: prefix = "sm_"; break;
    case EntryKind::kLtoIr: prefix = "lto_"; break;
    case EntryKind::kUnknown: prefix = "arch_"; break;
  }
  std::string name = prefix + std::to_string(number);
  if (suffix != 0) name += suffix;
  return name;
}

std::string to_string(FileKind kind) {
  switch (kind) {
    case FileKind::kHostElf: return "host ELF";
    case FileKind::kArchive: return "ar archive";
    case FileKind::kFatbin: return "fatbin";
    case FileKind::kCubin: return "cubin";
    case FileKind::kPtx: return "PTX";
  }
  return "?";
}

std::string to_string(EntryKind kind) {
  switch (kind) {
    case EntryKind::kPtx: return "ptx";
    case EntryKind::kCubin: return "cubin";
    case EntryKind::kLtoIr: return "ltoir";
    case EntryKind::kUnknown: return "unknown";
  }
  return "?";
}

std::string to_string(Compression compression) {
  switch (compression) {
    case Compression::kNone: return "none";
    case Compression::kLz4: return "lz4";
    case Compression::kZstd: return "zstd";
  }
  return "?";
}

std::string to_string(ContainerRole role) {
  switch (role) {
    case ContainerRole::kCompilationUnit: return "compilation unit";
    case ContainerRole::kDeviceLink: return "device link";
    case ContainerRole::kRelocatable: return "relocatable";
    case ContainerRole::kUnknown: return "unknown role";
  }
  return "?";
}

namespace {

std::string join_names(const std::vector<KernelName>& names) {
  std::string out;
  for (const KernelName& k : names) out += (out.empty() ? "" : ", ") + k.demangled;
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::string to_string(const FatbinEntry& entry) {
  std::ostringstream s;
  s << to_string(entry.kind) << ' ' << entry.arch << " v" << entry.version_major << '.'
    << entry.version_minor << " at " << hex(entry.offset) << ", " << entry.stored_size << " bytes";
  if (entry.compression != Compression::kNone) {
    s << ' ' << to_string(entry.compression) << " -> " << entry.uncompressed_size;
  }
  s << ", flags " << hex(entry.flags);
  if (entry.cubin) s << ", kernels: " << join_names(entry.cubin->kernels);
  if (entry.ptx) {
    s << ", PTX " << entry.ptx->isa_version << " .target " << entry.ptx->target
      << ", entries: " << join_names(entry.ptx->entries);
  }
  return s.str();
}

std::string to_string(const FatbinContainer& container) {
  std::ostringstream s;
  s << "container " << container.index;
  if (!container.section.empty()) s << " of " << container.section;
  if (!container.member.empty()) s << " in " << container.member;
  s << " (" << to_string(container.role) << ") at " << hex(container.offset) << ", "
    << container.entries.size() << " entries";
  for (const FatbinEntry& e : container.entries) s << "\n  " << to_string(e);
  return s.str();
}

std::string to_string(const FileInfo& info) {
  std::ostringstream s;
  s << info.path << ": " << to_string(info.kind);
  if (info.cubin) {
    s << " sm_" << info.cubin->sm << ", kernels: " << join_names(info.cubin->kernels);
  }
  if (info.ptx) {
    s << ' ' << info.ptx->isa_version << " .target " << info.ptx->target
      << ", entries: " << join_names(info.ptx->entries);
  }
  if (info.kind == FileKind::kHostElf || info.kind == FileKind::kArchive ||
      info.kind == FileKind::kFatbin) {
    s << ", " << info.containers.size() << " containers";
  }
  for (const FatbinContainer& c : info.containers) s << '\n' << to_string(c);
  return s.str();
}

}  // namespace lenet::introspect

// Which kind of file this is, where its fatbins are, and what role each container plays.
#include <lenet/introspect/archive.h>
#include <lenet/introspect/elf.h>
#include <lenet/introspect/fatbin.h>

#include <algorithm>
#include <iterator>

#include "detail.h"

namespace lenet::introspect {

namespace {

constexpr std::string_view kFatbinSection = ".nv_fatbin";
constexpr std::string_view kRelocatableFatbinSection = "__nv_relfatbin";
constexpr std::string_view kWrapperSection = ".nvFatBinSegment";
constexpr std::uint64_t kWrapperSize = 24;
constexpr std::uint64_t kWrapperAddressOffset = 8;

// A wrapper of .nvFatBinSegment resolved to the container it registers.
struct WrapperTarget {
  std::uint32_t version = 0;  // 1 compilation unit, 2 device link
  std::uint32_t section = 0;  // index of the section holding the container
  std::uint64_t offset = 0;   // of the container within that section
};

bool is_fatbin_section(const ElfSection& s) {
  return s.name == kFatbinSection || s.name == kRelocatableFatbinSection;
}

std::vector<WrapperTarget> wrapper_targets(const ElfFile& elf) {
  const ElfSection* segment = elf.find_section(kWrapperSection);
  if (segment == nullptr || !segment->has_file_bytes) return {};
  const ByteSpan bytes = elf.section_bytes(*segment);
  if (bytes.size() % kWrapperSize != 0) {
    throw FormatError("size " + hex(bytes.size()) + " is not a whole number of " +
                      std::to_string(kWrapperSize) + "-byte wrappers");
  }
  const std::uint64_t count = bytes.size() / kWrapperSize;
  std::vector<std::uint32_t> versions;
  std::vector<std::uint64_t> addresses;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint32_t magic = bytes.u32(i * kWrapperSize);
    if (magic != kFatbinWrapperMagic) {
      throw FormatError("wrapper " + std::to_string(i) + ": bad magic " + hex(magic) +
                        ", expected " + hex(kFatbinWrapperMagic));
    }
    versions.push_back(bytes.u32(i * kWrapperSize + 4));
    addresses.push_back(bytes.u64(i * kWrapperSize + kWrapperAddressOffset));
  }

  std::vector<WrapperTarget> targets;
  if (elf.type() == kElfTypeRelocatable) {
    // In a .o file the address is still 0: the linker fills it in from a relocation against
    // the wrapper's address field, whose symbol (the fatbin section) and addend name the
    // container.
    for (const ElfSection& rel : elf.sections()) {
      if ((rel.type != kSectionRela && rel.type != kSectionRel) || rel.info != segment->index) {
        continue;
      }
      if (rel.link >= elf.sections().size()) {
        throw FormatError("relocation section " + rel.name + " links to section " +
                          std::to_string(rel.link) + ", which does not exist");
      }
      const ElfSection& symtab = elf.sections()[rel.link];
      for (const ElfRelocation& r : elf.relocations(rel)) {
        const std::uint64_t i = r.offset / kWrapperSize;
        if (r.offset % kWrapperSize != kWrapperAddressOffset || i >= count) continue;
        const ElfSymbol sym = elf.symbol(symtab, r.symbol);
        const std::uint64_t addend =
            rel.type == kSectionRela ? static_cast<std::uint64_t>(r.addend) : addresses[i];
        targets.push_back({versions[i], sym.section, sym.value + addend});
      }
    }
  } else {
    // In an executable or shared library the address is the container's virtual address.
    for (std::uint64_t i = 0; i < count; ++i) {
      for (const ElfSection& s : elf.sections()) {
        if (is_fatbin_section(s) && s.addr != 0 && addresses[i] >= s.addr &&
            addresses[i] - s.addr < s.size) {
          targets.push_back({versions[i], s.index, addresses[i] - s.addr});
        }
      }
    }
  }
  return targets;
}

ContainerRole role_of(const ElfSection& section, std::uint64_t offset_in_section,
                      const std::vector<WrapperTarget>& targets) {
  if (section.name == kRelocatableFatbinSection) return ContainerRole::kRelocatable;
  for (const WrapperTarget& t : targets) {
    if (t.section != section.index || t.offset != offset_in_section) continue;
    if (t.version == 1) return ContainerRole::kCompilationUnit;
    if (t.version == 2) return ContainerRole::kDeviceLink;
  }
  return ContainerRole::kUnknown;
}

std::vector<FatbinContainer> elf_containers(const ElfFile& elf, const std::string& member,
                                            const ReadOptions& options) {
  const std::vector<WrapperTarget> targets =
      detail::with_context(std::string(kWrapperSection), [&] { return wrapper_targets(elf); });
  std::vector<FatbinContainer> out;
  for (const ElfSection& section : elf.sections()) {
    if (!is_fatbin_section(section) || !section.has_file_bytes) continue;
    const ByteSpan bytes = elf.section_bytes(section);
    std::vector<FatbinContainer> found = detail::with_context(
        "section " + section.name, [&] { return parse_fatbin(bytes, options); });
    for (FatbinContainer& c : found) {
      c.member = member;
      c.section = section.name;
      c.role = role_of(section, c.offset - bytes.file_offset(), targets);
      // A device-link output holds kernels only with -rdc code; otherwise it is a small module
      // without any, which must not count as one. Its few payloads are decoded to tell.
      if (c.role == ContainerRole::kDeviceLink && !options.decode_payloads) {
        detail::with_context("section " + section.name + ": container " + std::to_string(c.index),
                             [&] { decode_entries(bytes, c); });
      }
    }
    std::move(found.begin(), found.end(), std::back_inserter(out));
  }
  return out;
}

std::string first_bytes(ByteSpan bytes) {
  std::string out;
  for (std::uint64_t i = 0; i < std::min<std::uint64_t>(bytes.size(), 8); ++i) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out += kDigits[bytes.data()[i] >> 4];
    out += kDigits[bytes.data()[i] & 0xf];
    out += ' ';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

}  // namespace

FileInfo inspect_bytes(ByteSpan bytes, const std::string& name, const ReadOptions& options) {
  return detail::with_context(name, [&] {
    FileInfo info;
    info.path = name;
    if (bytes.empty()) throw FormatError("empty file");
    if (is_archive(bytes) || bytes.starts_with("!<thin>\n")) {
      info.kind = FileKind::kArchive;
      for (const ArchiveMember& m : read_archive(bytes)) {
        // Members that are not ELF (text, other formats) carry no fatbin.
        if (!is_elf(m.data)) continue;
        detail::with_context("member " + m.name, [&] {
          std::vector<FatbinContainer> found = elf_containers(ElfFile(m.data), m.name, options);
          std::move(found.begin(), found.end(), std::back_inserter(info.containers));
        });
      }
    } else if (is_elf(bytes)) {
      const ElfFile elf(bytes);
      if (elf.machine() == kElfMachineCuda) {
        info.kind = FileKind::kCubin;
        info.cubin = parse_cubin(bytes);
      } else {
        info.kind = FileKind::kHostElf;
        info.needed = elf.needed_libraries();
        info.containers = elf_containers(elf, "", options);
      }
    } else if (bytes.size() >= 4 && bytes.u32(0) == kFatbinMagic) {
      info.kind = FileKind::kFatbin;
      info.containers = parse_fatbin(bytes, options);
    } else if (detail::looks_like_ptx(bytes.chars())) {
      info.kind = FileKind::kPtx;
      info.ptx = parse_ptx(bytes.chars());
    } else {
      throw FormatError("not an ELF file, ar archive, fatbin or PTX text (first bytes: " +
                        first_bytes(bytes) + ")");
    }
    return info;
  });
}

FileInfo inspect_file(const std::string& path, const ReadOptions& options) {
  const MappedFile file(path);
  return inspect_bytes(file.bytes(), path, options);
}

}  // namespace lenet::introspect

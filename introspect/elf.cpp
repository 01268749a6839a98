#include <lenet/introspect/elf.h>

#include <algorithm>

#include "detail.h"

namespace lenet::introspect {

namespace {

constexpr std::uint64_t kElfHeaderSize = 64;
constexpr std::uint64_t kSectionHeaderSize = 64;
constexpr std::uint64_t kSymbolSize = 24;
constexpr std::uint64_t kRelaSize = 24;
constexpr std::uint64_t kRelSize = 16;
constexpr std::uint64_t kDynamicSize = 16;  // d_tag (i64), d_val (u64)
constexpr std::uint64_t kDynamicNull = 0;   // DT_NULL: end of the table
constexpr std::uint64_t kDynamicNeeded = 1;  // DT_NEEDED: d_val is a name in the linked table
constexpr std::uint64_t kNoteHeaderSize = 12;
constexpr std::uint16_t kSectionIndexExtended = 0xffff;  // SHN_XINDEX
// Far above any real file (large cubins have a few thousand sections); a hostile count would
// otherwise make the reader allocate for it.
constexpr std::uint64_t kMaxSections = std::uint64_t{1} << 20;

ElfSection read_section_header(ByteSpan table, std::uint32_t index) {
  const ByteSpan h = table.sub(std::uint64_t{index} * kSectionHeaderSize, kSectionHeaderSize,
                               "section header " + std::to_string(index));
  ElfSection s;
  s.index = index;
  s.type = h.u32(0x04);
  s.flags = h.u64(0x08);
  s.addr = h.u64(0x10);
  s.offset = h.u64(0x18);
  s.size = h.u64(0x20);
  s.link = h.u32(0x28);
  s.info = h.u32(0x2c);
  s.entsize = h.u64(0x38);
  return s;
}

// A cubin's .nv.shared.<kernel> sections (and their debug twins, type 0x7000000a) reserve
// shared memory: like .bss they have no bytes in the file, yet carry offsets that may coincide
// with other sections.
bool is_cuda_shared_memory(const ElfSection& s) {
  return s.type == kSectionCudaShared || s.name.rfind(".nv.shared.", 0) == 0;
}

std::string describe(const ElfSection& s) {
  return "section " + std::to_string(s.index) + (s.name.empty() ? "" : " (" + s.name + ")");
}

}  // namespace

bool is_elf(ByteSpan bytes) {
  return bytes.starts_with(
      "\x7f"
      "ELF");
}

ElfFile::ElfFile(ByteSpan bytes) : bytes_(bytes) {
  if (!is_elf(bytes)) throw FormatError("not an ELF file (no \\x7fELF magic)");
  const ByteSpan header = bytes.sub(0, kElfHeaderSize, "ELF header");
  if (header.u8(4) != 2) {
    throw FormatError("ELF class " + std::to_string(header.u8(4)) +
                      " is not supported: only 64-bit ELF files (class 2) are read");
  }
  if (header.u8(5) != 1) {
    throw FormatError("ELF data encoding " + std::to_string(header.u8(5)) +
                      " is not supported: only little-endian files (1) are read");
  }
  os_abi_ = header.u8(7);
  abi_version_ = header.u8(8);
  type_ = header.u16(0x10);
  machine_ = header.u16(0x12);
  flags_ = header.u32(0x30);
  const std::uint64_t shoff = header.u64(0x28);
  const std::uint16_t shentsize = header.u16(0x3a);
  std::uint64_t count = header.u16(0x3c);
  std::uint32_t shstrndx = header.u16(0x3e);
  if (shoff == 0) {
    if (count != 0) {
      throw FormatError("ELF header lists " + std::to_string(count) +
                        " sections but no section table offset");
    }
    return;  // a file without sections (possible for executables): nothing to read
  }
  if (shentsize != kSectionHeaderSize) {
    throw FormatError("section header size " + std::to_string(shentsize) + " is not " +
                      std::to_string(kSectionHeaderSize));
  }
  const ByteSpan first = bytes.sub(shoff, kSectionHeaderSize, "section table");
  // More than 0xff00 sections: e_shnum is 0 and section 0 holds the count (and the index of the
  // name table when it does not fit in e_shstrndx).
  if (count == 0) count = first.u64(0x20);
  if (shstrndx == kSectionIndexExtended) shstrndx = first.u32(0x28);
  if (count > kMaxSections) {
    throw FormatError("section count " + std::to_string(count) + " is absurd (limit " +
                      std::to_string(kMaxSections) + ")");
  }
  if (count > (bytes.size() - shoff) / kSectionHeaderSize) {
    throw FormatError("section table at " + hex(shoff) + " claims " + std::to_string(count) +
                      " sections, more than fit in the " + hex(bytes.size()) + "-byte file");
  }
  const ByteSpan table = bytes.sub(shoff, count * kSectionHeaderSize, "section table");
  for (std::uint32_t i = 0; i < count; ++i) sections_.push_back(read_section_header(table, i));

  if (shstrndx != 0) {
    const ElfSection& names = section_at(shstrndx, "section name table (e_shstrndx)");
    const ByteSpan name_bytes = bytes.sub(names.offset, names.size, "section name table");
    for (ElfSection& s : sections_) {
      const std::uint32_t name_offset = table.u32(std::uint64_t{s.index} * kSectionHeaderSize);
      s.name = detail::with_context("section " + std::to_string(s.index), [&] {
        return std::string(name_bytes.cstring(name_offset, "section name"));
      });
    }
  }
  for (ElfSection& s : sections_) {
    s.has_file_bytes = s.size > 0 && s.type != kSectionNull && s.type != kSectionNobits &&
                       !(machine_ == kElfMachineCuda && is_cuda_shared_memory(s));
    if (s.has_file_bytes && !bytes.contains(s.offset, s.size)) {
      throw FormatError(describe(s) + " needs bytes [" + hex(s.offset) + ", " + hex(s.offset) +
                        " + " + hex(s.size) + ") past the end of the " + hex(bytes.size()) +
                        "-byte file");
    }
  }
  check_no_overlap();
}

void ElfFile::check_no_overlap() const {
  std::vector<const ElfSection*> placed;
  for (const ElfSection& s : sections_) {
    if (s.has_file_bytes) placed.push_back(&s);
  }
  std::sort(placed.begin(), placed.end(), [](const ElfSection* a, const ElfSection* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->size < b->size;
  });
  // Ranges are inside the file (checked before), so offset + size cannot overflow.
  const ElfSection* reach = nullptr;  // the range seen so far that ends last
  for (const ElfSection* s : placed) {
    if (reach != nullptr && s->offset < reach->offset + reach->size) {
      // Two names for the same bytes are fine: in sm_100+ cubins nvcc's .nv.merc.* sections
      // mirror other sections exactly. A partial overlap is not.
      if (s->offset == reach->offset && s->size == reach->size) continue;
      throw FormatError(describe(*reach) + " [" + hex(reach->offset) + ", " +
                        hex(reach->offset + reach->size) + ") and " + describe(*s) + " [" +
                        hex(s->offset) + ", " + hex(s->offset + s->size) + ") overlap");
    }
    reach = s;
  }
}

const ElfSection& ElfFile::section_at(std::uint32_t index, std::string_view what) const {
  if (index >= sections_.size()) {
    throw FormatError(std::string(what) + " names section " + std::to_string(index) +
                      " but there are only " + std::to_string(sections_.size()));
  }
  return sections_[index];
}

const ElfSection* ElfFile::find_section(std::string_view name) const {
  for (const ElfSection& s : sections_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ByteSpan ElfFile::section_bytes(const ElfSection& section) const {
  if (section.size == 0) return ByteSpan(nullptr, 0, 0);
  if (!section.has_file_bytes) {
    throw FormatError(describe(section) + " has no bytes in the file (type " + hex(section.type) +
                      ")");
  }
  return bytes_.sub(section.offset, section.size, describe(section));
}

ElfSymbol ElfFile::symbol(const ElfSection& symtab, std::uint32_t index) const {
  return detail::with_context(describe(symtab), [&] {
    if (symtab.entsize != kSymbolSize) {
      throw FormatError("symbol size " + std::to_string(symtab.entsize) + " is not " +
                        std::to_string(kSymbolSize));
    }
    const ByteSpan table = section_bytes(symtab);
    const ByteSpan raw = table.sub(std::uint64_t{index} * kSymbolSize, kSymbolSize,
                                   "symbol " + std::to_string(index));
    const ByteSpan names = section_bytes(section_at(symtab.link, "symbol table link"));
    ElfSymbol sym;
    sym.name = std::string(names.cstring(raw.u32(0), "symbol name"));
    sym.type = raw.u8(4) & 0xf;
    sym.bind = raw.u8(4) >> 4;
    sym.other = raw.u8(5);
    sym.section = raw.u16(6);
    sym.value = raw.u64(8);
    sym.size = raw.u64(16);
    return sym;
  });
}

std::vector<ElfSymbol> ElfFile::symbols(const ElfSection& symtab) const {
  if (symtab.size % kSymbolSize != 0) {
    throw FormatError(describe(symtab) + ": size " + hex(symtab.size) +
                      " is not a whole number of " + std::to_string(kSymbolSize) + "-byte symbols");
  }
  std::vector<ElfSymbol> out;
  const std::uint64_t count = symtab.size / kSymbolSize;
  out.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i)
    out.push_back(symbol(symtab, static_cast<std::uint32_t>(i)));
  return out;
}

std::vector<ElfRelocation> ElfFile::relocations(const ElfSection& section) const {
  return detail::with_context(describe(section), [&] {
    const bool rela = section.type == kSectionRela;
    if (!rela && section.type != kSectionRel) {
      throw FormatError("type " + std::to_string(section.type) + " is not SHT_RELA or SHT_REL");
    }
    const std::uint64_t entry_size = rela ? kRelaSize : kRelSize;
    if (section.entsize != entry_size || section.size % entry_size != 0) {
      throw FormatError("entry size " + std::to_string(section.entsize) + " or section size " +
                        hex(section.size) + " does not fit " + std::to_string(entry_size) +
                        "-byte relocations");
    }
    const ByteSpan table = section_bytes(section);
    std::vector<ElfRelocation> out;
    for (std::uint64_t pos = 0; pos < table.size(); pos += entry_size) {
      ElfRelocation r;
      r.offset = table.u64(pos);
      const std::uint64_t info = table.u64(pos + 8);
      r.symbol = static_cast<std::uint32_t>(info >> 32);
      r.type = static_cast<std::uint32_t>(info & 0xffffffffu);
      r.addend = rela ? static_cast<std::int64_t>(table.u64(pos + 16)) : 0;
      out.push_back(r);
    }
    return out;
  });
}

std::vector<ElfNote> ElfFile::notes(const ElfSection& section) const {
  return detail::with_context(describe(section), [&] {
    const ByteSpan bytes = section_bytes(section);
    const auto padded = [](std::uint64_t n) { return (n + 3) / 4 * 4; };
    std::vector<ElfNote> out;
    // Each note takes at least its 12-byte header, so the loop ends.
    for (std::uint64_t pos = 0; pos < bytes.size();) {
      const ByteSpan header = bytes.sub(pos, kNoteHeaderSize, "note header");
      const std::uint64_t name_size = header.u32(0);
      const std::uint64_t desc_size = header.u32(4);
      ElfNote note;
      note.type = header.u32(8);
      const ByteSpan name = bytes.sub(pos + kNoteHeaderSize, name_size, "note name");
      note.name = std::string(name.chars().substr(0, name.chars().find('\0')));
      const std::uint64_t desc_at = pos + kNoteHeaderSize + padded(name_size);
      note.desc = bytes.sub(desc_at, desc_size, "note description");
      pos = desc_at + padded(desc_size);
      out.push_back(std::move(note));
    }
    return out;
  });
}

std::vector<std::string> ElfFile::needed_libraries() const {
  std::vector<std::string> out;
  for (const ElfSection& section : sections_) {
    if (section.type != kSectionDynamic || !section.has_file_bytes) continue;
    detail::with_context(describe(section), [&] {
      const ByteSpan table = section_bytes(section);
      const ByteSpan names = section_bytes(section_at(section.link, "dynamic section link"));
      for (std::uint64_t pos = 0; pos + kDynamicSize <= table.size(); pos += kDynamicSize) {
        const std::uint64_t tag = table.u64(pos);
        if (tag == kDynamicNull) break;
        if (tag == kDynamicNeeded) {
          out.emplace_back(names.cstring(table.u64(pos + 8), "DT_NEEDED name"));
        }
      }
    });
  }
  return out;
}

}  // namespace lenet::introspect

// A reader of 64-bit little-endian ELF files: host objects, executables and shared libraries,
// and the cubins (e_machine 190, EM_CUDA) that fatbins carry.
//
// The constructor checks the header and the whole section table before anything else reads
// them: every section's bytes lie inside the file, and no two sections overlap in part
// (sections without bytes in the file, such as .bss, are left out of both checks; two sections
// with exactly the same bytes are allowed, as nvcc writes them in sm_100+ cubins). Later reads
// of symbols and relocations are bounds-checked one by one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <lenet/introspect/bytes.h>

namespace lenet::introspect {

inline constexpr std::uint16_t kElfTypeRelocatable = 1;  // ET_REL: a .o file
inline constexpr std::uint16_t kElfTypeExecutable = 2;   // ET_EXEC
inline constexpr std::uint16_t kElfTypeShared = 3;       // ET_DYN: shared library or PIE
inline constexpr std::uint16_t kElfMachineCuda = 190;    // EM_CUDA: a cubin

inline constexpr std::uint32_t kSectionNull = 0;    // SHT_NULL: section 0, and unused entries
inline constexpr std::uint32_t kSectionSymtab = 2;  // SHT_SYMTAB
inline constexpr std::uint32_t kSectionRela = 4;    // SHT_RELA
inline constexpr std::uint32_t kSectionNobits = 8;  // SHT_NOBITS: no bytes in the file (.bss)
inline constexpr std::uint32_t kSectionRel = 9;     // SHT_REL
inline constexpr std::uint32_t kSectionDynamic = 6;  // SHT_DYNAMIC: .dynamic
inline constexpr std::uint32_t kSectionNote = 7;     // SHT_NOTE
// In a cubin, .nv.shared.<kernel> sections reserve shared memory: like SHT_NOBITS they have no
// bytes in the file, yet carry offsets that may coincide with other sections. Most have this
// type; .nv.shared.reserved.* sections have another, so the reader also goes by the name.
inline constexpr std::uint32_t kSectionCudaShared = 0x7000000a;

inline constexpr std::uint8_t kSymbolFunc = 2;  // STT_FUNC

struct ElfSection {
  std::uint32_t index = 0;
  std::string name;
  std::uint32_t type = 0;
  std::uint64_t flags = 0;
  std::uint64_t addr = 0;  // virtual address once loaded (0 in .o files)
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint32_t link = 0;
  std::uint32_t info = 0;
  std::uint64_t entsize = 0;
  // False for sections that occupy no bytes of the file: SHT_NULL, SHT_NOBITS (.bss), a
  // cubin's shared-memory reservations, and empty sections.
  bool has_file_bytes = false;
};

struct ElfSymbol {
  std::string name;
  std::uint8_t type = 0;      // STT_*: low 4 bits of st_info
  std::uint8_t bind = 0;      // STB_*: high 4 bits of st_info
  std::uint8_t other = 0;     // st_other: visibility, and on cubins flags such as the entry bit
  std::uint16_t section = 0;  // st_shndx; 0 means undefined
  std::uint64_t value = 0;
  std::uint64_t size = 0;
};

// One entry of a SHT_NOTE section: namesz, descsz and type (u32 each), then the name and the
// description, each padded to 4 bytes.
struct ElfNote {
  std::string name;  // "NVIDIA Corp", without the terminating NUL
  std::uint32_t type = 0;
  ByteSpan desc;
};

struct ElfRelocation {
  std::uint64_t offset = 0;  // where in the patched section
  std::uint32_t symbol = 0;  // index into the symbol table the relocation section links to
  std::uint32_t type = 0;
  std::int64_t addend = 0;  // 0 for SHT_REL, whose addend sits in the patched bytes
};

class ElfFile {
 public:
  // Throws FormatError when `bytes` is not a well-formed ELF64 little-endian file.
  explicit ElfFile(ByteSpan bytes);

  ByteSpan bytes() const { return bytes_; }
  std::uint16_t type() const { return type_; }
  std::uint16_t machine() const { return machine_; }
  std::uint32_t flags() const { return flags_; }
  std::uint8_t os_abi() const { return os_abi_; }
  std::uint8_t abi_version() const { return abi_version_; }
  const std::vector<ElfSection>& sections() const { return sections_; }

  // The first section with this name, or nullptr.
  const ElfSection* find_section(std::string_view name) const;
  // The section's bytes; throws for a section without bytes in the file (an empty section gives
  // an empty span).
  ByteSpan section_bytes(const ElfSection& section) const;
  // Symbols of a SHT_SYMTAB section, names read from the string table it links to.
  std::vector<ElfSymbol> symbols(const ElfSection& symtab) const;
  ElfSymbol symbol(const ElfSection& symtab, std::uint32_t index) const;
  // Entries of a SHT_RELA or SHT_REL section.
  std::vector<ElfRelocation> relocations(const ElfSection& section) const;
  // The notes of a SHT_NOTE section.
  std::vector<ElfNote> notes(const ElfSection& section) const;
  // The DT_NEEDED entries of the SHT_DYNAMIC section ("libcudart.so.13"), in file order; empty
  // for files without one (objects, static executables).
  std::vector<std::string> needed_libraries() const;

 private:
  const ElfSection& section_at(std::uint32_t index, std::string_view what) const;
  void check_no_overlap() const;

  ByteSpan bytes_;
  std::uint16_t type_ = 0;
  std::uint16_t machine_ = 0;
  std::uint32_t flags_ = 0;
  std::uint8_t os_abi_ = 0;
  std::uint8_t abi_version_ = 0;
  std::vector<ElfSection> sections_;
};

// True when bytes start with the ELF magic (whatever the class or machine).
bool is_elf(ByteSpan bytes);

}  // namespace lenet::introspect

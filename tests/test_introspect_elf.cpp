// ELF files: the section table, cubins and their kernels, host files and their fatbin roles.
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include <lenet/introspect/elf.h>
#include <lenet/introspect/fatbin.h>

#include "support/fatbin_builders.h"

namespace {

using namespace lenet::introspect;
using namespace lenet::introspect::synth;

TEST(ElfReader, ReadsHeaderSectionsAndSymbols) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  b.set_flags(0x1234);
  const std::uint32_t text = b.add({".text", 1, Bytes(32, 0x90), 0x1000});
  add_symtab(b, {{"main", kSymbolFunc, 1, 0, static_cast<std::uint16_t>(text), 0x10, 8}});
  const Bytes file = b.build();
  const ElfFile elf(span(file));
  EXPECT_EQ(elf.type(), kElfTypeRelocatable);
  EXPECT_EQ(elf.machine(), kMachineX86_64);
  EXPECT_EQ(elf.flags(), 0x1234u);
  ASSERT_EQ(elf.sections().size(), 5u);  // null, .text, .strtab, .symtab, .shstrtab
  const ElfSection* s = elf.find_section(".text");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->index, text);
  EXPECT_EQ(s->addr, 0x1000u);
  EXPECT_EQ(s->size, 32u);
  EXPECT_TRUE(s->has_file_bytes);
  EXPECT_EQ(elf.section_bytes(*s).u8(0), 0x90);
  EXPECT_EQ(elf.section_bytes(*s).file_offset(), b.section_offset(text));
  const std::vector<ElfSymbol> syms = elf.symbols(*elf.find_section(".symtab"));
  ASSERT_EQ(syms.size(), 2u);
  EXPECT_EQ(syms[1].name, "main");
  EXPECT_EQ(syms[1].type, kSymbolFunc);
  EXPECT_EQ(syms[1].bind, 1);
  EXPECT_EQ(syms[1].section, text);
  EXPECT_EQ(syms[1].value, 0x10u);
  EXPECT_EQ(syms[1].size, 8u);
}

TEST(ElfReader, OnlyElf64LittleEndian) {
  Bytes file = ElfBuilder(kElfTypeRelocatable, kMachineX86_64).build();
  file[4] = 1;
  expect_format_error([&] { ElfFile{span(file)}; }, "only 64-bit ELF files");
  file[4] = 2;
  file[5] = 2;
  expect_format_error([&] { ElfFile{span(file)}; }, "only little-endian");
  expect_format_error(
      [&] {
        ElfFile{
            span(bytes_of("\x7f"
                          "ELF\x02\x01"))};
      },
      "ELF header");
}

TEST(ElfReader, SectionBeyondTheFile) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  const std::uint32_t data = b.add({".data", 1, Bytes(16, 1)});
  Bytes file = b.build();
  put_u64(file, b.section_header(data) + 0x20, 0x100000);
  expect_format_error([&] { ElfFile{span(file)}; }, "section 1 (.data) needs bytes");
  put_u64(file, b.section_header(data) + 0x20, 16);
  put_u64(file, b.section_header(data) + 0x18, std::numeric_limits<std::uint64_t>::max() - 4);
  expect_format_error([&] { ElfFile{span(file)}; }, "past the end");
}

TEST(ElfReader, SectionTableBeyondTheFileOrAbsurd) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  b.add({".data", 1, Bytes(16, 1)});
  Bytes file = b.build();
  Bytes truncated = file;
  truncated.resize(truncated.size() - 10);
  expect_format_error([&] { ElfFile{span(truncated)}; }, "more than fit");
  put_u16(file, 0x3c, 0);  // e_shnum 0: the count is in section 0's size
  put_u64(file, b.section_header(0) + 0x20, std::uint64_t{1} << 40);
  expect_format_error([&] { ElfFile{span(file)}; }, "is absurd");
}

TEST(ElfReader, ExtendedSectionCountInSectionZero) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  b.add({".data", 1, Bytes(16, 1)});
  Bytes file = b.build();
  put_u16(file, 0x3c, 0);
  put_u64(file, b.section_header(0) + 0x20, 3);
  EXPECT_EQ(ElfFile(span(file)).sections().size(), 3u);
}

TEST(ElfReader, PartlyOverlappingSectionsAreRejected) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  const std::uint32_t first = b.add({".first", 1, Bytes(32, 1)});
  const std::uint32_t second = b.add({".second", 1, Bytes(32, 2)});
  Bytes file = b.build();
  put_u64(file, b.section_header(second) + 0x18, b.section_offset(first) + 16);
  expect_format_error(
      [&] { ElfFile{span(file)}; },
      "section 1 (.first) [0x40, 0x60) and section 2 (.second) [0x50, 0x70) overlap");
}

TEST(ElfReader, IdenticalAliasesAndSectionsWithoutBytesMayShareOffsets) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  const std::uint32_t data = b.add({".data", 1, Bytes(32, 1)});
  const std::uint32_t alias = b.add({".alias", 1, Bytes(32, 1)});
  const std::uint32_t bss = b.add({".bss", kSectionNobits, Bytes(32, 0)});
  Bytes file = b.build();
  put_u64(file, b.section_header(alias) + 0x18, b.section_offset(data));
  put_u64(file, b.section_header(bss) + 0x18, b.section_offset(data) + 8);
  put_u64(file, b.section_header(bss) + 0x20, 0x100000);  // .bss need not fit in the file
  const ElfFile elf(span(file));
  EXPECT_FALSE(elf.sections()[bss].has_file_bytes);
  expect_format_error([&] { elf.section_bytes(elf.sections()[bss]); }, "no bytes in the file");
}

TEST(ElfReader, UnterminatedSectionName) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  const std::uint32_t data = b.add({".data", 1, Bytes(16, 1)});
  Bytes file = b.build();
  put_u32(file, b.section_header(data), 0x7fffffff);
  expect_format_error([&] { ElfFile{span(file)}; }, "section 1: section name at offset 0x7fffffff");
}

TEST(ElfReader, SymbolsAndRelocationsAreBoundsChecked) {
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  const std::uint32_t symtab = add_symtab(b, {{"f"}});
  Bytes rel(24, 0);
  const std::uint32_t rela = b.add({".rela.x", kSectionRela, rel, 0, symtab, 0, 24});
  Bytes file = b.build();
  const ElfFile elf(span(file));
  expect_format_error([&] { elf.symbol(elf.sections()[symtab], 2); }, "symbol 2 at offset 0x30");
  EXPECT_EQ(elf.relocations(elf.sections()[rela]).size(), 1u);
  put_u64(file, b.section_header(rela) + 0x38, 16);
  expect_format_error(
      [&] {
        const ElfFile broken(span(file));
        broken.relocations(broken.sections()[rela]);
      },
      "does not fit 24-byte relocations");
}

TEST(CubinReader, SmNumberFromEflagsForBothAbiVersions) {
  EXPECT_EQ(parse_cubin(span(make_cubin(120, {}, 8))).sm, 120u);
  const CubinInfo old = parse_cubin(span(make_cubin(86, {}, 7)));
  EXPECT_EQ(old.sm, 86u);
  EXPECT_EQ(old.abi_version, 7);
  EXPECT_EQ(old.elf_flags & 0xff, 86u);
}

TEST(CubinReader, KernelsAreTheEntryFunctions) {
  ElfBuilder b(kElfTypeExecutable, kElfMachineCuda);
  b.set_abi_version(8);
  b.set_flags(75 << 8);
  const auto text = [&](const std::string& name) {
    return static_cast<std::uint16_t>(b.add({".text." + name, 1, Bytes(16, 0)}));
  };
  const std::uint16_t k1 = text("_ZL19relu_forward_kernelPKfPfl");
  const std::uint16_t k2 = text("plain_c_kernel");
  const std::uint16_t dev = text("_Z9helper_fnf");
  const std::uint16_t k3 =
      text("__nv_static_25__f5e7561c_4_k_cu_32df9e97__ZN2ns13hidden_kernelEPi");
  add_symtab(b, {{"_ZL19relu_forward_kernelPKfPfl", kSymbolFunc, 0, kCudaEntryBit, k1},
                 {"plain_c_kernel", kSymbolFunc, 1, kCudaEntryBit, k2},
                 {"_Z9helper_fnf", kSymbolFunc, 1, 0, dev},                    // __device__
                 {"_Z6ext_fnf", kSymbolFunc, 1, kCudaEntryBit, 0},             // undefined
                 {"_ZL19relu_forward_kernelPKfPfl", 3, 0, kCudaEntryBit, k1},  // not FUNC
                 {"__nv_static_25__f5e7561c_4_k_cu_32df9e97__ZN2ns13hidden_kernelEPi", kSymbolFunc,
                  0, kCudaEntryBit, k3}});
  const Bytes file = b.build();
  const CubinInfo info = parse_cubin(span(file));
  EXPECT_EQ(info.sm, 75u);
  ASSERT_EQ(info.kernels.size(), 3u);  // sorted by mangled name
  EXPECT_EQ(info.kernels[0].mangled, "_ZL19relu_forward_kernelPKfPfl");
  EXPECT_EQ(info.kernels[0].demangled, "relu_forward_kernel(float const*, float*, long)");
  EXPECT_EQ(info.kernels[1].demangled, "ns::hidden_kernel(int*)");
  EXPECT_EQ(info.kernels[2].mangled, "plain_c_kernel");
  EXPECT_EQ(info.kernels[2].demangled, "plain_c_kernel");
}

TEST(CubinReader, NamesThatAreNotItaniumStayAsTheyAre) {
  // "i" would demangle as the type "int"; a broken _Z name stays mangled.
  const CubinInfo info = parse_cubin(span(make_cubin(75, {{"i"}, {"_Z"}, {"__nv_static_9_x"}})));
  ASSERT_EQ(info.kernels.size(), 3u);
  for (const KernelName& k : info.kernels) EXPECT_EQ(k.demangled, k.mangled);
}

TEST(CubinReader, SharedMemorySectionsHaveNoBytes) {
  ElfBuilder b(kElfTypeExecutable, kElfMachineCuda);
  b.set_abi_version(8);
  b.set_flags(100 << 8);
  const std::uint32_t text = b.add({".text.k", 1, Bytes(32, 0)});
  const std::uint32_t shared = b.add({".nv.shared.k", kSectionCudaShared, Bytes(16, 0)});
  const std::uint32_t reserved = b.add({".nv.shared.reserved.0", 0x70000015, Bytes(16, 0)});
  Bytes file = b.build();
  // ptxas gives these reservations offsets that coincide with other sections.
  put_u64(file, b.section_header(shared) + 0x18, b.section_offset(text) + 8);
  put_u64(file, b.section_header(reserved) + 0x18, b.section_offset(text) + 4);
  EXPECT_EQ(parse_cubin(span(file)).sm, 100u);
  ElfBuilder host(kElfTypeRelocatable, kMachineX86_64);  // not on a host file
  const std::uint32_t host_text = host.add({".text.k", 1, Bytes(32, 0)});
  const std::uint32_t host_shared = host.add({".nv.shared.k", kSectionCudaShared, Bytes(16, 0)});
  Bytes host_file = host.build();
  put_u64(host_file, host.section_header(host_shared) + 0x18, host.section_offset(host_text) + 8);
  expect_format_error([&] { ElfFile{span(host_file)}; }, "overlap");
}

TEST(CubinReader, RejectsAHostElf) {
  const Bytes file = ElfBuilder(kElfTypeRelocatable, kMachineX86_64).build();
  expect_format_error([&] { parse_cubin(span(file)); }, "not a cubin: e_machine is 62");
}

TEST(HostElfFatbin, RolesOfAnObjectComeFromItsRelocations) {
  // nvcc's order in an executable: the device-link container first, then compilation units;
  // here the wrappers list them in the other order, so the match must go by offset.
  const HostFatbin obj = make_host_object(
      {cubin_container(75, "a"), cubin_container(75, "b"), cubin_container(75, "c")}, {1, 2});
  const FileInfo info = inspect_bytes(span(obj.file), "x.o");
  EXPECT_EQ(info.kind, FileKind::kHostElf);
  ASSERT_EQ(info.containers.size(), 3u) << to_string(info);
  EXPECT_EQ(info.containers[0].role, ContainerRole::kCompilationUnit);
  EXPECT_EQ(info.containers[1].role, ContainerRole::kDeviceLink);
  EXPECT_EQ(info.containers[2].role, ContainerRole::kUnknown);  // no wrapper
  EXPECT_EQ(info.containers[2].section, ".nv_fatbin");
  EXPECT_EQ(info.containers[2].index, 2);
  EXPECT_TRUE(info.containers[2].member.empty());
  ASSERT_TRUE(info.containers[1].entries.at(0).cubin);
  EXPECT_EQ(info.containers[1].entries[0].cubin->kernels.at(0).mangled, "b");
}

TEST(HostElfFatbin, RolesOfAnExecutableComeFromAddresses) {
  const HostFatbin exe =
      make_host_executable({cubin_container(80, "link"), cubin_container(80, "unit")}, {2, 1});
  const FileInfo info = inspect_bytes(span(exe.file), "app");
  ASSERT_EQ(info.containers.size(), 2u);
  EXPECT_EQ(info.containers[0].role, ContainerRole::kDeviceLink);
  EXPECT_EQ(info.containers[1].role, ContainerRole::kCompilationUnit);
  const HostFatbin stripped = make_host_executable({cubin_container(80, "k")}, {});
  EXPECT_EQ(inspect_bytes(span(stripped.file), "lib.so").containers.at(0).role,
            ContainerRole::kUnknown);
}

TEST(HostElfFatbin, RelocatableDeviceCodeSection) {
  const HostFatbin obj = make_host_object({cubin_container(90, "k")}, {1}, "__nv_relfatbin");
  const FileInfo info = inspect_bytes(span(obj.file), "rdc.o");
  ASSERT_EQ(info.containers.size(), 1u);
  EXPECT_EQ(info.containers[0].section, "__nv_relfatbin");
  EXPECT_EQ(info.containers[0].role, ContainerRole::kRelocatable);
}

TEST(HostElfFatbin, ContainerAndEntryOffsetsAreFileOffsets) {
  const HostFatbin obj =
      make_host_object({cubin_container(75, "a"), cubin_container(86, "b")}, {1, 1});
  const FileInfo info = inspect_bytes(span(obj.file), "x.o");
  const ElfFile elf(span(obj.file));
  const std::uint64_t section = elf.find_section(".nv_fatbin")->offset;
  ASSERT_EQ(info.containers.size(), 2u);
  EXPECT_EQ(info.containers[1].offset, section + obj.container_offsets[1]);
  const FatbinEntry& e = info.containers[1].entries.at(0);
  EXPECT_EQ(e.offset, info.containers[1].offset + 16);
  EXPECT_EQ(read_payload(span(obj.file), e), make_cubin(86, {{"b"}}));
}

TEST(HostElfFatbin, BadWrappers) {
  HostFatbin obj = make_host_object({cubin_container(75, "a")}, {1});
  const ElfFile elf(span(obj.file));
  const std::uint64_t segment = elf.find_section(".nvFatBinSegment")->offset;
  put_u32(obj.file, segment, 0x466243b2);
  expect_format_error([&] { inspect_bytes(span(obj.file), "x.o"); },
                      "x.o: .nvFatBinSegment: wrapper 0: bad magic 0x466243b2");
  ElfBuilder b(kElfTypeRelocatable, kMachineX86_64);
  b.add({".nvFatBinSegment", 1, Bytes(20, 0)});
  const Bytes odd = b.build();
  expect_format_error([&] { inspect_bytes(span(odd), "y.o"); },
                      "not a whole number of 24-byte wrappers");
}

TEST(HostElfFatbin, ErrorsNameTheSection) {
  Bytes container = cubin_container(75, "a");
  put_u16(container, 4, 2);  // container version 2
  const HostFatbin obj = make_host_object({container}, {1});
  expect_format_error([&] { inspect_bytes(span(obj.file), "x.o"); },
                      "x.o: section .nv_fatbin: container 0 at ");
  expect_format_error([&] { inspect_bytes(span(obj.file), "x.o"); },
                      "container version 2 is not supported");
}

}  // namespace

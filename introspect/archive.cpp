#include <lenet/introspect/archive.h>

#include <string_view>

#include "detail.h"

namespace lenet::introspect {

namespace {

constexpr std::string_view kMagic = "!<arch>\n";
constexpr std::string_view kThinMagic = "!<thin>\n";
constexpr std::uint64_t kHeaderSize = 60;

std::string_view trim_right(std::string_view s, std::string_view chars = " ") {
  const std::size_t end = s.find_last_not_of(chars);
  return end == std::string_view::npos ? std::string_view() : s.substr(0, end + 1);
}

// A decimal header field, space-padded on the right ("1416      "). At most 10 digits, so the
// value fits easily in 64 bits.
std::uint64_t parse_decimal(std::string_view field, std::string_view what) {
  const std::string_view digits = trim_right(field);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) {
    throw FormatError(std::string(what) + " '" + std::string(field) + "' is not a decimal number");
  }
  std::uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

// "/123" names the string at offset 123 of the GNU long-name table; each name there ends in
// "/\n".
std::string long_name(ByteSpan table, std::string_view field) {
  if (table.empty()) {
    throw FormatError("long name '" + std::string(field) +
                      "' but the archive has no long-name table (//)");
  }
  const std::uint64_t offset = parse_decimal(field.substr(1), "long-name offset");
  if (offset >= table.size()) {
    throw FormatError("long name offset " + std::to_string(offset) +
                      " is outside the long-name table (" + std::to_string(table.size()) +
                      " bytes)");
  }
  const std::string_view rest = table.chars().substr(offset);
  const std::size_t end = rest.find('\n');
  if (end == std::string_view::npos) {
    throw FormatError("long name at offset " + std::to_string(offset) + " is not terminated");
  }
  return std::string(trim_right(rest.substr(0, end), "/"));
}

}  // namespace

bool is_archive(ByteSpan bytes) { return bytes.starts_with(kMagic); }

std::vector<ArchiveMember> read_archive(ByteSpan bytes) {
  if (bytes.starts_with(kThinMagic)) {
    throw FormatError("thin archive: its members are separate files, which are not read");
  }
  if (!is_archive(bytes)) throw FormatError("not an ar archive (no !<arch> magic)");
  std::vector<ArchiveMember> members;
  ByteSpan long_names;
  std::uint64_t pos = kMagic.size();
  int index = 0;
  while (pos < bytes.size()) {
    const std::string where = "archive member " + std::to_string(index) + " at " + hex(pos);
    detail::with_context(where, [&] {
      const ByteSpan header = bytes.sub(pos, kHeaderSize, "member header");
      const std::string_view text = header.chars();
      if (text.substr(58, 2) != "`\n") {
        throw FormatError("member header does not end in \"`\\n\" (bad header or offset)");
      }
      const std::uint64_t size = parse_decimal(text.substr(48, 10), "member size");
      ByteSpan data = bytes.sub(pos + kHeaderSize, size, "member data");
      std::string_view field = trim_right(text.substr(0, 16));
      // A member starts at an even offset: an odd-sized member is followed by one '\n'.
      pos += kHeaderSize + size + (size & 1);

      if (field == "/" || field == "/SYM64/") return;  // GNU symbol table: the linker's index
      if (field == "//") {
        long_names = data;
        return;
      }
      std::string name;
      if (field.size() > 1 && field[0] == '/') {
        name = long_name(long_names, field);
      } else if (field.substr(0, 3) == "#1/") {
        const std::uint64_t length = parse_decimal(field.substr(3), "BSD name length");
        name = std::string(
            trim_right(data.sub(0, length, "BSD member name").chars(), std::string_view("\0", 1)));
        data = data.from(length, "member data");
      } else {
        name = std::string(trim_right(field, "/"));
      }
      if (name.rfind("__.SYMDEF", 0) == 0) return;  // BSD symbol table
      members.push_back({std::move(name), data});
    });
    ++index;
  }
  return members;
}

}  // namespace lenet::introspect

// A reader of `ar` static libraries (lib*.a): the members, each with its name and bytes.
//
// Layout: the magic "!<arch>\n", then per member a 60-byte text header (name[16], date[12],
// uid[6], gid[6], mode[8], size[10] in decimal, "`\n") followed by `size` bytes, padded to an
// even offset. GNU ar keeps a symbol table in a member named "/" (or "/SYM64/") and names
// longer than 15 characters in a member named "//", referenced as "/<offset>"; BSD ar writes
// "#1/<length>" and puts the name in front of the member's bytes.
#pragma once

#include <string>
#include <vector>

#include <lenet/introspect/bytes.h>

namespace lenet::introspect {

struct ArchiveMember {
  std::string name;  // "relu.cu.o"
  ByteSpan data;     // data.file_offset() is where the member's bytes start in the archive
};

// True when bytes start with "!<arch>\n".
bool is_archive(ByteSpan bytes);

// The members in file order, without the symbol tables and the long-name table. Throws
// FormatError for a thin archive (its members are other files), a malformed header, a size
// beyond the end of the file or a long name outside the name table.
std::vector<ArchiveMember> read_archive(ByteSpan bytes);

}  // namespace lenet::introspect

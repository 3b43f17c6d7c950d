#include "model/formats/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>

namespace wisp {
namespace {

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kEnd64Size = 56;
constexpr size_t kEnd64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;
// Deflate cannot expand data by more than ~1032:1; a declared size beyond that is a lie that
// would make us allocate memory the archive cannot fill.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t Rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t Rd32(const uint8_t* p) { return Rd16(p) | (static_cast<uint32_t>(Rd16(p + 2)) << 16); }
uint64_t Rd64(const uint8_t* p) { return Rd32(p) | (static_cast<uint64_t>(Rd32(p + 4)) << 32); }

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

uint32_t Crc32(const uint8_t* p, size_t n) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib's length is a uInt: feed gigabyte entries in pieces
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

// Replaces the 0xFFFFFFFF / 0xFFFF placeholders of a central header by the values of its ZIP64
// extra field, which holds (in this order) only the fields that overflowed.
Status ApplyZip64Extra(const uint8_t* extra, size_t extra_len, bool need_uncomp, bool need_comp,
                       bool need_offset, ZipEntry* e, const std::string& where) {
  size_t pos = 0;
  while (pos + 4 <= extra_len) {
    const uint16_t id = Rd16(extra + pos);
    const uint16_t len = Rd16(extra + pos + 2);
    if (pos + 4 + len > extra_len) return BadInput(where + ": extra field overruns its header");
    if (id == kZip64ExtraId) {
      const uint8_t* f = extra + pos + 4;
      size_t left = len;
      auto take = [&](uint64_t* out) {
        if (left < 8) return false;
        *out = Rd64(f);
        f += 8;
        left -= 8;
        return true;
      };
      if ((need_uncomp && !take(&e->uncompressed_size)) || (need_comp && !take(&e->compressed_size)) ||
          (need_offset && !take(&e->local_header_offset))) {
        return BadInput(where + ": ZIP64 extra field too short for the sizes/offset it must hold");
      }
      return Status::Ok();
    }
    pos += 4 + len;
  }
  if (need_uncomp || need_comp || need_offset) {
    return BadInput(where + ": 32-bit size/offset is 0xFFFFFFFF but there is no ZIP64 extra field");
  }
  return Status::Ok();
}

}  // namespace

Result<ZipArchive> ZipArchive::Parse(const uint8_t* data, size_t size, const std::string& source) {
  const std::string at = source + ": zip: ";
  if (size < kEndSize) return BadInput(at + "file of " + std::to_string(size) + " bytes is too short");
  // The end record is the last 22 bytes plus a comment of up to 64 KiB: find the signature whose
  // comment length reaches exactly the end of the file.
  size_t end_pos = SIZE_MAX;
  const size_t lowest = size - kEndSize > 0xFFFF ? size - kEndSize - 0xFFFF : 0;
  for (size_t p = size - kEndSize + 1; p-- > lowest;) {
    if (Rd32(data + p) == kEndSig && p + kEndSize + Rd16(data + p + 20) == size) {
      end_pos = p;
      break;
    }
  }
  if (end_pos == SIZE_MAX) return BadInput(at + "no end-of-central-directory record (truncated or not a zip)");
  const uint8_t* end = data + end_pos;
  if (Rd16(end + 4) != 0 || Rd16(end + 6) != 0) return Unsupported(at + "multi-disk archives are not supported");
  uint64_t n_entries = Rd16(end + 10);
  uint64_t cd_size = Rd32(end + 12);
  uint64_t cd_offset = Rd32(end + 16);
  uint64_t cd_limit = end_pos;  // the central directory must end before the end records
  const bool overflowed = n_entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF;
  if (end_pos >= kEnd64LocatorSize && Rd32(data + end_pos - kEnd64LocatorSize) == kEnd64LocatorSig) {
    const uint8_t* loc = data + end_pos - kEnd64LocatorSize;
    const uint64_t rec = Rd64(loc + 8);
    if (Rd32(loc + 4) != 0 || Rd32(loc + 16) > 1) return Unsupported(at + "multi-disk ZIP64 archives are not supported");
    if (rec > end_pos - kEnd64LocatorSize || end_pos - kEnd64LocatorSize - rec < kEnd64Size) {
      return BadInput(at + "ZIP64 end record offset " + Hex(rec) + " is outside the file");
    }
    const uint8_t* r = data + rec;
    if (Rd32(r) != kEnd64Sig) return BadInput(at + "no ZIP64 end record at offset " + Hex(rec));
    if (Rd32(r + 16) != 0 || Rd32(r + 20) != 0) return Unsupported(at + "multi-disk ZIP64 archives are not supported");
    // A 32-bit field that is not the 0xFFFF.. placeholder must agree with its ZIP64 value: two
    // readers must not see two different directories in one file.
    if ((n_entries != 0xFFFF && n_entries != Rd64(r + 32)) || (cd_size != 0xFFFFFFFF && cd_size != Rd64(r + 40)) ||
        (cd_offset != 0xFFFFFFFF && cd_offset != Rd64(r + 48))) {
      return BadInput(at + "end record and ZIP64 end record disagree on the central directory");
    }
    n_entries = Rd64(r + 32);
    cd_size = Rd64(r + 40);
    cd_offset = Rd64(r + 48);
    cd_limit = rec;
  } else if (overflowed) {
    return BadInput(at + "end record needs ZIP64 values but there is no ZIP64 locator");
  }
  if (cd_offset > cd_limit || cd_size > cd_limit - cd_offset) {
    return BadInput(at + "central directory (offset " + Hex(cd_offset) + ", " + std::to_string(cd_size) +
                    " bytes) lies outside the file");
  }
  if (n_entries > cd_size / kCentralHeaderSize) {
    return BadInput(at + "central directory of " + std::to_string(cd_size) + " bytes cannot hold " +
                    std::to_string(n_entries) + " entries");
  }

  ZipArchive zip;
  zip.data_ = data;
  zip.size_ = size;
  zip.source_ = source;
  zip.entries_.reserve(n_entries);
  const uint8_t* cd = data + cd_offset;
  size_t pos = 0;
  for (uint64_t i = 0; i < n_entries; ++i) {
    const std::string where = at + "central directory entry " + std::to_string(i) + " (offset " +
                              Hex(cd_offset + pos) + ")";
    if (cd_size - pos < kCentralHeaderSize || Rd32(cd + pos) != kCentralHeaderSig) {
      return BadInput(where + ": no central directory header");
    }
    const uint8_t* h = cd + pos;
    const size_t name_len = Rd16(h + 28), extra_len = Rd16(h + 30), comment_len = Rd16(h + 32);
    if (cd_size - pos - kCentralHeaderSize < name_len + extra_len + comment_len) {
      return BadInput(where + ": name/extra/comment overrun the central directory");
    }
    ZipEntry e;
    e.flags = Rd16(h + 8);
    e.method = Rd16(h + 10);
    e.crc32 = Rd32(h + 16);
    e.compressed_size = Rd32(h + 20);
    e.uncompressed_size = Rd32(h + 24);
    e.local_header_offset = Rd32(h + 42);
    e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
    const std::string named = where + " '" + e.name + "'";
    if (e.name.empty()) return BadInput(where + ": empty entry name");
    if (Rd16(h + 34) != 0 && Rd16(h + 34) != 0xFFFF) return Unsupported(named + ": entry on another disk");
    WISP_RETURN_IF_ERROR(ApplyZip64Extra(h + kCentralHeaderSize + name_len, extra_len,
                                         e.uncompressed_size == 0xFFFFFFFF, e.compressed_size == 0xFFFFFFFF,
                                         e.local_header_offset == 0xFFFFFFFF, &e, named));
    pos += kCentralHeaderSize + name_len + extra_len + comment_len;

    // The local header must be where the directory says, name the same entry, and be followed by
    // data that ends before the central directory.
    const uint64_t lho = e.local_header_offset;
    if (lho > cd_offset || cd_offset - lho < kLocalHeaderSize || Rd32(data + lho) != kLocalHeaderSig) {
      return BadInput(named + ": no local header at offset " + Hex(lho));
    }
    const uint8_t* l = data + lho;
    const uint64_t lname = Rd16(l + 26), lextra = Rd16(l + 28);
    if (lname + lextra > cd_offset - lho - kLocalHeaderSize) {
      return BadInput(named + ": local header at " + Hex(lho) + " overruns the central directory");
    }
    if (lname != name_len || std::memcmp(l + kLocalHeaderSize, e.name.data(), name_len) != 0) {
      return BadInput(named + ": local header at " + Hex(lho) + " names another entry");
    }
    if (Rd16(l + 8) != e.method) return BadInput(named + ": local and central headers disagree on the method");
    e.data_offset = lho + kLocalHeaderSize + lname + lextra;
    if (e.compressed_size > cd_offset - e.data_offset) {
      return BadInput(named + ": data of " + std::to_string(e.compressed_size) + " bytes at " +
                      Hex(e.data_offset) + " runs past the start of the central directory");
    }
    if (e.method == 0 && e.compressed_size != e.uncompressed_size) {
      return BadInput(named + ": stored entry with compressed size " + std::to_string(e.compressed_size) +
                      " != uncompressed size " + std::to_string(e.uncompressed_size));
    }
    if (!zip.by_name_.emplace(e.name, zip.entries_.size()).second) {
      return BadInput(named + ": duplicate entry name");
    }
    zip.entries_.push_back(std::move(e));
  }
  if (pos != cd_size) {
    return BadInput(at + "central directory is " + std::to_string(cd_size) + " bytes but its " +
                    std::to_string(n_entries) + " entries take " + std::to_string(pos));
  }
  return zip;
}

const ZipEntry* ZipArchive::Find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

Result<ZipBytes> ZipArchive::Read(const ZipEntry& e, bool check_crc) const {
  const std::string named = source_ + ": zip entry '" + e.name + "'";
  if (e.flags & 1) return Unsupported(named + " is encrypted");
  const uint8_t* in = data_ + e.data_offset;  // range checked by Parse
  ZipBytes out;
  if (e.method == 0) {
    out.data = in;
    out.size = static_cast<size_t>(e.uncompressed_size);
  } else if (e.method == 8) {
    if (e.uncompressed_size > e.compressed_size * kMaxDeflateRatio + 1024) {
      return BadInput(named + ": declared size " + std::to_string(e.uncompressed_size) +
                      " is more than deflate can produce from " + std::to_string(e.compressed_size) + " bytes");
    }
    out.owned = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(e.uncompressed_size));
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return BadInput(named + ": zlib inflateInit failed");
    uint64_t in_left = e.compressed_size, out_left = e.uncompressed_size;
    zs.next_in = const_cast<Bytef*>(in);
    zs.next_out = out.owned->data();
    int rc = Z_OK;
    std::string error;
    for (;;) {
      // zlib counts in uInt: refill both windows in pieces of at most 1 GiB.
      if (zs.avail_in == 0 && in_left > 0) {
        zs.avail_in = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
        in_left -= zs.avail_in;
      }
      if (zs.avail_out == 0 && out_left > 0) {
        zs.avail_out = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
        out_left -= zs.avail_out;
      }
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) break;
      if (rc == Z_OK) continue;  // progress: go on
      if (rc == Z_BUF_ERROR && zs.avail_out == 0 && out_left == 0) {
        error = "inflates to more than the declared " + std::to_string(e.uncompressed_size) + " bytes";
      } else if (rc == Z_BUF_ERROR) {
        error = "deflate stream is truncated";
      } else {
        error = std::string("corrupt deflate data (") + (zs.msg != nullptr ? zs.msg : "zlib error") + ")";
      }
      break;
    }
    const uint64_t produced = zs.total_out;
    inflateEnd(&zs);
    if (!error.empty()) return BadInput(named + ": " + error);
    if (produced != e.uncompressed_size) {
      return BadInput(named + ": inflates to " + std::to_string(produced) + " bytes, declared " +
                      std::to_string(e.uncompressed_size));
    }
    out.data = out.owned->data();
    out.size = out.owned->size();
    check_crc = true;
  } else {
    return Unsupported(named + ": compression method " + std::to_string(e.method) +
                       " (only stored and deflate are supported)");
  }
  if (check_crc && Crc32(out.data, out.size) != e.crc32) return BadInput(named + ": CRC-32 mismatch");
  return out;
}

namespace {
void Put16(std::vector<uint8_t>* o, uint32_t v) {
  o->push_back(v & 0xFF);
  o->push_back((v >> 8) & 0xFF);
}
void Put32(std::vector<uint8_t>* o, uint32_t v) {
  Put16(o, v & 0xFFFF);
  Put16(o, v >> 16);
}
void Put64(std::vector<uint8_t>* o, uint64_t v) {
  Put32(o, static_cast<uint32_t>(v));
  Put32(o, static_cast<uint32_t>(v >> 32));
}
}  // namespace

std::vector<uint8_t> WriteStoredZip(const std::vector<ZipWriteEntry>& entries, size_t alignment, bool zip64) {
  std::vector<uint8_t> o;
  std::vector<uint64_t> offsets;
  std::vector<uint32_t> crcs;
  for (const ZipWriteEntry& e : entries) {
    offsets.push_back(o.size());
    crcs.push_back(Crc32(e.data.data(), e.data.size()));
    Put32(&o, kLocalHeaderSig);
    Put16(&o, zip64 ? 45 : 20);  // version needed
    Put16(&o, 0);                // flags
    Put16(&o, 0);                // stored
    Put32(&o, 0);                // time, date
    Put32(&o, crcs.back());
    Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(e.data.size()));
    Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(e.data.size()));
    // The extra field holds the ZIP64 sizes (if any) and then padding up to the alignment, as
    // PyTorch pads with an 'FB' field so that storages can be mapped as arrays.
    const size_t z64 = zip64 ? 20 : 0;
    size_t start = o.size() + 4 + e.name.size() + z64;
    size_t pad = alignment > 1 ? (alignment - start % alignment) % alignment : 0;
    if (pad > 0 && pad < 4) pad += alignment;
    Put16(&o, static_cast<uint32_t>(e.name.size()));
    Put16(&o, static_cast<uint32_t>(z64 + pad));
    o.insert(o.end(), e.name.begin(), e.name.end());
    if (zip64) {
      Put16(&o, kZip64ExtraId);
      Put16(&o, 16);
      Put64(&o, e.data.size());
      Put64(&o, e.data.size());
    }
    if (pad > 0) {
      Put16(&o, 0x4246);  // "FB"
      Put16(&o, static_cast<uint32_t>(pad - 4));
      o.insert(o.end(), pad - 4, 'Z');
    }
    o.insert(o.end(), e.data.begin(), e.data.end());
  }
  const uint64_t cd_offset = o.size();
  for (size_t i = 0; i < entries.size(); ++i) {
    const ZipWriteEntry& e = entries[i];
    Put32(&o, kCentralHeaderSig);
    Put16(&o, zip64 ? 45 : 20);
    Put16(&o, zip64 ? 45 : 20);
    Put16(&o, 0);
    Put16(&o, 0);
    Put32(&o, 0);
    Put32(&o, crcs[i]);
    Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(e.data.size()));
    Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(e.data.size()));
    Put16(&o, static_cast<uint32_t>(e.name.size()));
    Put16(&o, zip64 ? 28 : 0);
    Put16(&o, 0);  // comment
    Put16(&o, 0);  // disk
    Put16(&o, 0);  // internal attributes
    Put32(&o, 0);  // external attributes
    Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(offsets[i]));
    o.insert(o.end(), e.name.begin(), e.name.end());
    if (zip64) {
      Put16(&o, kZip64ExtraId);
      Put16(&o, 24);
      Put64(&o, e.data.size());
      Put64(&o, e.data.size());
      Put64(&o, offsets[i]);
    }
  }
  const uint64_t cd_size = o.size() - cd_offset;
  if (zip64) {
    const uint64_t rec = o.size();
    Put32(&o, kEnd64Sig);
    Put64(&o, kEnd64Size - 12);
    Put16(&o, 45);
    Put16(&o, 45);
    Put32(&o, 0);
    Put32(&o, 0);
    Put64(&o, entries.size());
    Put64(&o, entries.size());
    Put64(&o, cd_size);
    Put64(&o, cd_offset);
    Put32(&o, kEnd64LocatorSig);
    Put32(&o, 0);
    Put64(&o, rec);
    Put32(&o, 1);
  }
  Put32(&o, kEndSig);
  Put32(&o, 0);  // disk numbers
  Put16(&o, zip64 ? 0xFFFF : static_cast<uint32_t>(entries.size()));
  Put16(&o, zip64 ? 0xFFFF : static_cast<uint32_t>(entries.size()));
  Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(cd_size));
  Put32(&o, zip64 ? 0xFFFFFFFF : static_cast<uint32_t>(cd_offset));
  Put16(&o, 0);  // comment
  return o;
}

}  // namespace wisp

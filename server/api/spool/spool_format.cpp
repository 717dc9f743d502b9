#include "server/api/spool/spool_format.h"

#include <atomic>
#include <boost/crc.hpp>
#include <cstdio>
#include <cstring>

namespace rt::spool {
namespace {

// CRC32C (Castagnoli), as iSCSI and ext4 use: better error detection than CRC32 for
// the short records here. Boost's table-driven implementation is header-only but
// costs ~2.4 ns a byte (144 ns of a 60-byte record, most of Append; spool_bench);
// x86-64's SSE4.2 crc32 instruction computes the same function 8 bytes at a time.
using Crc32cEngine = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t crc = 0xFFFFFFFF;
  for (; size >= 8; size -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    crc = __builtin_ia32_crc32di(crc, word);
  }
  auto crc32 = static_cast<uint32_t>(crc);
  for (; size > 0; --size, ++p) crc32 = __builtin_ia32_crc32qi(crc32, *p);
  return ~crc32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The record CRC covers everything after the CRC word: seq, appended_ms and payload.
uint32_t RecordCrc(const char* record, uint32_t payload_len) {
  return Crc32c(record + 8, kRecordHeaderBytes - 8 + payload_len);
}

bool IsSafeName(std::string_view id) {
  if (id.empty() || id == "." || id == ".." || id.front() == 'x') return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t size) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (kHaveSse42) return Crc32cSse42(data, size);
#endif
  return Crc32cPortable(data, size);
}

uint32_t Crc32cPortable(const void* data, size_t size) {
  Crc32cEngine engine;
  engine.process_bytes(data, size);
  return engine.checksum();
}

void EncodeSegmentHeader(const SegmentHeader& header, char* out) {
  std::memcpy(out, kSegmentMagic, 8);
  std::memcpy(out + 8, &header.segment_id, 8);
  std::memcpy(out + 16, &header.first_seq, 8);
  uint32_t crc = Crc32c(out, 24);
  std::memcpy(out + 24, &crc, 4);
  std::memset(out + 28, 0, 4);
}

bool DecodeSegmentHeader(const char* in, SegmentHeader& header, bool& all_zero) {
  all_zero = true;
  for (size_t i = 0; i < kSegmentHeaderBytes; ++i) {
    if (in[i] != 0) {
      all_zero = false;
      break;
    }
  }
  if (all_zero || std::memcmp(in, kSegmentMagic, 8) != 0) return false;
  if (Crc32c(in, 24) != Load32(in + 24)) return false;
  header.segment_id = Load64(in + 8);
  header.first_seq = Load64(in + 16);
  return header.first_seq > 0;
}

void WriteRecord(char* out, uint64_t seq, int64_t appended_ms, std::string_view payload) {
  const auto len = static_cast<uint32_t>(payload.size());
  std::memcpy(out + 8, &seq, 8);
  std::memcpy(out + 16, &appended_ms, 8);
  std::memcpy(out + kRecordHeaderBytes, payload.data(), payload.size());
  uint32_t crc = RecordCrc(out, len);
  std::memcpy(out + 4, &crc, 4);
  // The length word last, with release order: until it is stored, this offset still
  // reads as the end of the written data.
  std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(out))
      .store(len, std::memory_order_release);
}

bool ReadValidRecord(const char* base, size_t size, size_t offset, RecordHeader& header) {
  if (offset + kRecordHeaderBytes > size) return false;
  const char* p = base + offset;
  uint32_t len = Load32(p);
  if (len == 0 || len > size - offset - kRecordHeaderBytes) return false;
  if (RecordCrc(p, len) != Load32(p + 4)) return false;
  header.payload_len = len;
  header.crc = Load32(p + 4);
  header.seq = Load64(p + 8);
  header.appended_ms = static_cast<int64_t>(Load64(p + 16));
  return header.seq > 0;
}

uint32_t PayloadLenAt(const char* base, size_t offset) { return Load32(base + offset); }

std::string SegmentFileName(uint64_t segment_id) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(segment_id));
  return name;
}

bool ParseSegmentFileName(std::string_view name, uint64_t& segment_id) {
  if (name.size() != 24 || name.substr(20) != ".seg") return false;
  uint64_t id = 0;
  for (size_t i = 0; i < 20; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (id > (UINT64_MAX - digit) / 10) return false;
    id = id * 10 + digit;
  }
  segment_id = id;
  return true;
}

std::string WorkerDirName(std::string_view worker_id) {
  if (IsSafeName(worker_id)) return std::string(worker_id);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = "x";
  for (unsigned char c : worker_id) {
    name += kHex[c >> 4];
    name += kHex[c & 15];
  }
  return name;
}

bool ParseWorkerDirName(std::string_view name, std::string& worker_id) {
  if (name.empty() || name == "." || name == "..") return false;
  if (name.front() != 'x') {
    if (!IsSafeName(name)) return false;
    worker_id = std::string(name);
    return true;
  }
  if (name.size() % 2 != 1) return false;
  std::string id;
  for (size_t i = 1; i < name.size(); i += 2) {
    int hi = HexValue(name[i]);
    int lo = HexValue(name[i + 1]);
    if (hi < 0 || lo < 0) return false;
    id += static_cast<char>(hi * 16 + lo);
  }
  worker_id = std::move(id);
  return true;
}

}  // namespace rt::spool

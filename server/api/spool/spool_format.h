#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rt::spool {

// The on-disk layout of a FileSpool segment (docs/design.md §13 "Spool"). A segment
// file is preallocated (zeros) and written in place through a shared mapping:
//
//   segment header (32 bytes): "rtspool1", u64 segment id, u64 first record seq,
//                              u32 crc32c of the 24 bytes before it, u32 zero
//   records, each 8-byte aligned:
//     u32 payload_len, u32 crc32c(seq, appended_ms, payload), u64 seq,
//     i64 appended_unix_ms, payload, zero padding to 8 bytes
//
// A zero payload_len word ends the written data: the preallocated file is zeros, so
// no end marker is ever written, and an empty payload is not a record (Append
// refuses it). Little-endian host order (the file never leaves the node). Within a
// segment the seqs are contiguous; a gap only ever lies between two segments.

inline constexpr char kSegmentMagic[8] = {'r', 't', 's', 'p', 'o', 'o', 'l', '1'};
inline constexpr size_t kSegmentHeaderBytes = 32;
inline constexpr size_t kRecordHeaderBytes = 24;

struct SegmentHeader {
  uint64_t segment_id = 0;
  uint64_t first_seq = 0;
};

struct RecordHeader {
  uint32_t payload_len = 0;
  uint32_t crc = 0;
  uint64_t seq = 0;
  int64_t appended_ms = 0;
};

// CRC32C (Castagnoli). With SSE4.2 (checked at run time) the crc32 instruction, else
// Boost's table (spool_format.cpp says why); Crc32cPortable is always the table, so
// that a test can check that both agree.
uint32_t Crc32c(const void* data, size_t size);
uint32_t Crc32cPortable(const void* data, size_t size);

// The bytes a record of `payload_len` takes, padding included.
inline size_t RecordBytes(size_t payload_len) {
  return (kRecordHeaderBytes + payload_len + 7) & ~size_t{7};
}

void EncodeSegmentHeader(const SegmentHeader& header, char* out);
// False when the 32 bytes are not a valid header (magic or CRC); `all_zero` tells a
// never-activated preallocated segment from a damaged one.
bool DecodeSegmentHeader(const char* in, SegmentHeader& header, bool& all_zero);

// Writes a whole record at `out` (REQUIRES: RecordBytes(payload.size()) zero bytes
// there). The length word is stored last, so a record torn by a kill before its last
// store still ends the written data or fails its CRC.
void WriteRecord(char* out, uint64_t seq, int64_t appended_ms, std::string_view payload);

// Whether a valid record starts at `offset` of a mapping of `size` bytes: a
// plausible length that fits and a matching CRC. Fills `header` when it is.
bool ReadValidRecord(const char* base, size_t size, size_t offset, RecordHeader& header);
// The length word at `offset` (0 at the end of the written data).
uint32_t PayloadLenAt(const char* base, size_t offset);

// A segment's file name: 20-digit zero-padded id + ".seg"; and back (false if `name`
// is not one).
std::string SegmentFileName(uint64_t segment_id);
bool ParseSegmentFileName(std::string_view name, uint64_t& segment_id);

// The directory name of a worker id: the id itself when it is [A-Za-z0-9._-]+ and not
// "." or "..", else "x" + lowercase hex of its bytes. An id that starts with "x" and
// is itself safe is also hex-encoded, so that decoding is unambiguous.
std::string WorkerDirName(std::string_view worker_id);
bool ParseWorkerDirName(std::string_view name, std::string& worker_id);

}  // namespace rt::spool

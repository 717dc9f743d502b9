// FileSpool::Open: reading back what the last process left (docs/design.md §13
// "Spool"). Bad data never fails the open (a node must not crash-loop on its spool):
// it is truncated, moved aside or reported as a gap. Only I/O errors fail it.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "server/api/spool/file_spool.h"
#include "server/api/spool/spool_format.h"

namespace rt {
namespace {

struct DirEntries {
  std::vector<uint64_t> segment_ids;
  std::vector<std::string> temp_files;
};

Result<DirEntries> ListDir(const std::string& dir) {
  DirEntries entries;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return entries;
    return spool::ErrnoStatus("opendir", dir, errno);
  }
  while (dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    uint64_t id = 0;
    if (spool::ParseSegmentFileName(name, id)) {
      entries.segment_ids.push_back(id);
    } else if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
      entries.temp_files.emplace_back(name);
    }
  }
  ::closedir(d);
  std::sort(entries.segment_ids.begin(), entries.segment_ids.end());
  return entries;
}

// u64 in decimal followed by a newline; nullopt for anything else.
std::optional<uint64_t> ParseU64Line(std::string_view text) {
  if (text.empty() || text.back() != '\n' || text.size() > 21) return std::nullopt;
  uint64_t value = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return text.size() > 1 ? std::optional(value) : std::nullopt;
}

std::string Range(uint64_t first, uint64_t last) {
  return first == last ? std::to_string(first)
                       : std::to_string(first) + ".." + std::to_string(last);
}

std::string BaseName(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// A run of valid records with contiguous seqs inside a segment: [begin, end).
struct Run {
  size_t begin;
  size_t end;
  uint64_t first_seq;
  uint64_t end_seq;
};

// The longest run of valid records from `offset` whose seqs go on from `seq`.
Run ScanRun(const char* data, size_t size, size_t offset, uint64_t seq) {
  Run run{offset, offset, seq, seq};
  spool::RecordHeader header;
  while (run.end + spool::kRecordHeaderBytes <= size &&
         spool::ReadValidRecord(data, size, run.end, header) && header.seq == run.end_seq) {
    run.end += spool::RecordBytes(header.payload_len);
    ++run.end_seq;
  }
  return run;
}

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

Result<std::unique_ptr<FileSpool>> FileSpool::Open(SpoolDisk& disk, const std::string& worker_id,
                                                   const NewStreamId& new_stream_id,
                                                   SpoolRecoveryReport& report) {
  std::string dir = disk.options().dir + "/" + spool::WorkerDirName(worker_id);
  std::unique_ptr<FileSpool> spool(new FileSpool(disk, worker_id, std::move(dir)));
  if (Status s = spool->Recover(new_stream_id, report); !s.ok()) {
    return s.WithContext("spool for worker " + worker_id);
  }
  return spool;
}

Status FileSpool::Recover(const NewStreamId& new_stream_id, SpoolRecoveryReport& report) {
  const std::string prefix = "spool for worker " + worker_id_ + ": ";
  if (Status s = spool::EnsureDir(dir_); !s.ok()) return s;

  auto cursor = spool::ReadSmallFile(dir_ + "/cursor");
  if (cursor.ok()) {
    if (auto value = ParseU64Line(*cursor)) {
      acknowledged_ = cursor_written_ = *value;
    } else {
      report.messages.push_back(prefix +
                                "cursor file unreadable; resending from the oldest record");
    }
  } else if (cursor.status().code() != Status::Code::kNotFound) {
    return cursor.status();
  }
  if (Status s = RecoverStream(new_stream_id, report); !s.ok()) return s;

  std::vector<std::unique_ptr<Segment>> found;
  if (Status s = ScanSegments(found, report); !s.ok()) return s;

  // Segments wholly acknowledged (Reclaim was interrupted after the cursor): the next
  // one starts at or below cursor + 1. Deleted without reading them.
  std::vector<std::unique_ptr<Segment>> held;
  for (size_t i = 0; i < found.size(); ++i) {
    if (i + 1 < found.size() && found[i + 1]->first_seq <= acknowledged_ + 1) {
      if (::unlink(found[i]->path.c_str()) != 0) {
        return spool::ErrnoStatus("unlink", found[i]->path, errno);
      }
      continue;
    }
    const size_t before = held.size();
    if (Status s = RepairSegment(*found[i], held, report); !s.ok()) return s;
    // Only the last segment may stay mapped: opening a spool of many GBs must not
    // keep them all in the page tables (RSS) at once.
    if (i + 1 < found.size()) {
      for (size_t j = before; j < held.size(); ++j) held[j]->map.Reset();
    }
    found[i].reset();
  }
  std::stable_sort(held.begin(), held.end(),
                   [](const auto& a, const auto& b) { return a->first_seq < b->first_seq; });

  // Seqs missing between the cursor and the records held, or between two segments,
  // are gaps. An empty segment only counts when it is the last (its header says
  // where the next append goes).
  uint64_t expect = acknowledged_ + 1;
  for (size_t i = 0; i < held.size(); ++i) {
    Segment& segment = *held[i];
    const bool last = i + 1 == held.size();
    const bool acknowledged = segment.end_seq <= acknowledged_ + 1;
    if (!last && (segment.first_seq == segment.end_seq || acknowledged)) {
      if (::unlink(segment.path.c_str()) != 0)
        return spool::ErrnoStatus("unlink", segment.path, errno);
      continue;
    }
    if (!segments_.empty() && segment.first_seq < segments_.back()->end_seq &&
        segment.end_seq > segment.first_seq) {
      // Overlapping seqs (a crash in the middle of a repair): keep the first copy.
      report.messages.push_back(prefix + "segment " + BaseName(segment.path) +
                                " repeats records already held; moved to corrupt/");
      ++report.corrupt_segments;
      if (Status s = MoveAside(segment.path); !s.ok()) return s;
      continue;
    }
    if (segment.first_seq > expect) gaps_.push_back({expect, segment.first_seq - 1});
    expect = std::max(expect, segment.end_seq);
    segments_.push_back(std::move(held[i]));
  }
  next_seq_ = expect;
  for (auto& segment : segments_) {
    segment->sealed = true;
    segment->synced = segment->end;
    bytes_ += segment->size;
  }
  if (!segments_.empty()) {
    Segment& last = *segments_.back();
    // The last segment takes appends only if its seqs lead to next_seq_ (not when the
    // cursor is past them) and it has room.
    if (last.end_seq == next_seq_ && last.map && last.end < last.size) {
      last.sealed = false;
      last.index.reserve(last.size / kIndexStride + 1);
    }
  }
  for (auto& segment : segments_) {
    if (segment->sealed) segment->map.Reset();
  }
  durable_seq_ = next_seq_ - 1;
  disk_.Count(bytes_);
  UpdateOldestLocked();

  uint64_t lost = LostLocked();
  for (const Gap& gap : gaps_) {
    report.messages.push_back(prefix + "records " + Range(gap.first, gap.last) + " are lost (" +
                              std::to_string(gap.last - gap.first + 1) + " records)");
    report.gaps.push_back({worker_id_, gap});
  }
  report.lost_records += lost;
  report.segments += segments_.size();
  report.records += next_seq_ - 1 - acknowledged_ - lost;
  return Status::Ok();
}

Status FileSpool::RecoverStream(const NewStreamId& new_stream_id, SpoolRecoveryReport& report) {
  auto text = spool::ReadSmallFile(dir_ + "/stream");
  if (text.ok()) {
    const std::string& content = *text;
    size_t newline = content.find('\n');
    if (newline != std::string::npos && newline > 0) {
      if (auto base = ParseU64Line(std::string_view(content).substr(newline + 1))) {
        stream_ = {content.substr(0, newline), *base};
        return Status::Ok();
      }
    }
    // Written atomically, so this is damage: a fresh stream from the first record
    // not acknowledged keeps the worker's dedup exact.
    report.messages.push_back("spool for worker " + worker_id_ +
                              ": stream file unreadable; starting a new stream");
    stream_ = {new_stream_id(), acknowledged_};
  } else if (text.status().code() == Status::Code::kNotFound) {
    // At the first open the cursor is 0, so the base is 0; a spool that lost the file
    // starts the stream, like a damaged one, after what is acknowledged.
    stream_ = {new_stream_id(), acknowledged_};
  } else {
    return text.status();
  }
  return spool::WriteFileAtomically(dir_, "stream",
                                    stream_.id + "\n" + std::to_string(stream_.base) + "\n");
}

// Maps every segment and checks its header; ids found in corrupt/ count too, so that
// an id is never reused.
Status FileSpool::ScanSegments(std::vector<std::unique_ptr<Segment>>& found,
                               SpoolRecoveryReport& report) {
  auto entries = ListDir(dir_);
  if (!entries.ok()) return entries.status();
  auto corrupt = ListDir(dir_ + "/corrupt");
  if (!corrupt.ok()) return corrupt.status();
  for (const std::string& temp : entries->temp_files) {
    // An atomic write or a repair that did not finish: the old file is intact.
    if (::unlink((dir_ + "/" + temp).c_str()) != 0) {
      return spool::ErrnoStatus("unlink", dir_ + "/" + temp, errno);
    }
  }
  for (uint64_t id : corrupt->segment_ids) next_segment_id_ = std::max(next_segment_id_, id + 1);
  const std::string prefix = "spool for worker " + worker_id_ + ": segment ";
  for (uint64_t id : entries->segment_ids) {
    next_segment_id_ = std::max(next_segment_id_, id + 1);
    auto segment = std::make_unique<Segment>();
    segment->id = id;
    segment->path = dir_ + "/" + spool::SegmentFileName(id);
    auto map = spool::MapExistingFile(segment->path);
    spool::SegmentHeader header;
    bool all_zero = false;
    if (map.ok() && map->size() >= spool::kSegmentHeaderBytes &&
        spool::DecodeSegmentHeader(map->data(), header, all_zero)) {
      segment->size = map->size();
      segment->first_seq = header.first_seq;
      segment->map = std::move(map).value();
      found.push_back(std::move(segment));
      continue;
    }
    if (map.ok() && all_zero) {  // preallocated, never written: nothing lost
      if (::unlink(segment->path.c_str()) != 0) {
        return spool::ErrnoStatus("unlink", segment->path, errno);
      }
      continue;
    }
    report.messages.push_back(prefix + spool::SegmentFileName(id) + " is unreadable (" +
                              (map.ok() ? std::string("bad header") : map.status().message()) +
                              "); moved to corrupt/");
    ++report.corrupt_segments;
    if (Status s = MoveAside(segment->path); !s.ok()) return s;
  }
  std::stable_sort(found.begin(), found.end(),
                   [](const auto& a, const auto& b) { return a->first_seq < b->first_seq; });
  return Status::Ok();
}

// Scans one segment's records (the only pass that reads payloads: their CRC) and
// repairs what it finds:
//   * the valid records from the header on are the good prefix; after it, look for a
//     valid record with a higher seq, in 8-byte steps;
//   * none, and non-zero bytes after the prefix: a torn tail. They are zeroed, so the
//     next append writes over them;
//   * found: damage in the middle. Each run of valid records goes to a fresh segment
//     (its seqs kept), then the damaged file moves to corrupt/. The seqs in between
//     become a gap (Recover).
// Pushes what remains to `out`, with end, end_seq and index filled.
Status FileSpool::RepairSegment(Segment& segment, std::vector<std::unique_ptr<Segment>>& out,
                                SpoolRecoveryReport& report) {
  const std::string prefix =
      "spool for worker " + worker_id_ + ": segment " + BaseName(segment.path) + ": ";
  char* data = segment.map.data();
  const size_t size = segment.size;
  std::vector<Run> runs;
  runs.push_back(ScanRun(data, size, spool::kSegmentHeaderBytes, segment.first_seq));
  size_t junk_end = runs.back().end;  // after the last non-zero byte past the runs
  for (size_t pos = runs.back().end; pos + 8 <= size; pos += 8) {
    if (Load64(data + pos) == 0) continue;
    junk_end = pos + 8;
    // A plausible seq first: it keeps the CRC off most junk.
    const uint64_t seq = pos + 16 <= size ? Load64(data + pos + 8) : 0;
    if (seq < runs.back().end_seq || seq - runs.back().end_seq > size) continue;
    spool::RecordHeader header;
    if (spool::ReadValidRecord(data, size, pos, header)) {
      runs.push_back(ScanRun(data, size, pos, header.seq));
      pos = runs.back().end - 8;
      junk_end = runs.back().end;
    }
  }
  const Run& tail = runs.back();
  if (runs.size() == 1) {
    if (junk_end > tail.end) {
      ++report.torn_tails;
      report.torn_bytes += junk_end - tail.end;
      report.messages.push_back(prefix + "torn tail at offset " + std::to_string(tail.end) +
                                " truncated (" + std::to_string(junk_end - tail.end) +
                                " bytes dropped)");
      for (size_t pos = tail.end; pos < junk_end; pos += 8) std::memset(data + pos, 0, 8);
      if (Status s = segment.map.Sync(tail.end, junk_end, segment.path); !s.ok()) return s;
    }
    segment.end = tail.end;
    auto kept = std::make_unique<Segment>();
    kept->id = segment.id;
    kept->path = segment.path;
    kept->size = segment.size;
    kept->first_seq = segment.first_seq;
    kept->end = segment.end;
    kept->map = std::move(segment.map);
    IndexSegment(*kept);
    out.push_back(std::move(kept));
    return Status::Ok();
  }

  // Damage in the middle: rewrite every non-empty run into a fresh segment.
  std::string kept_ranges;
  for (const Run& run : runs) {
    if (run.end_seq == run.first_seq) continue;
    auto fresh = std::make_unique<Segment>();
    fresh->id = next_segment_id_++;
    fresh->path = dir_ + "/" + spool::SegmentFileName(fresh->id);
    fresh->size = size;
    fresh->first_seq = run.first_seq;
    const std::string temp = fresh->path + ".tmp";
    auto map = spool::CreateSegmentFile(temp, size);
    if (!map.ok()) return map.status().WithContext("repairing " + segment.path);
    fresh->map = std::move(map).value();
    spool::EncodeSegmentHeader({fresh->id, run.first_seq}, fresh->map.data());
    std::memcpy(fresh->map.data() + spool::kSegmentHeaderBytes, data + run.begin,
                run.end - run.begin);
    fresh->end = spool::kSegmentHeaderBytes + (run.end - run.begin);
    if (Status s = fresh->map.Sync(0, fresh->end, temp); !s.ok()) return s;
    if (::rename(temp.c_str(), fresh->path.c_str()) != 0) {
      return spool::ErrnoStatus("rename", temp, errno);
    }
    IndexSegment(*fresh);
    kept_ranges += (kept_ranges.empty() ? "" : ", ") + Range(run.first_seq, run.end_seq - 1);
    out.push_back(std::move(fresh));
  }
  segment.map.Reset();
  if (Status s = MoveAside(segment.path); !s.ok()) return s;
  ++report.corrupt_segments;
  report.messages.push_back(prefix + "damaged at offset " + std::to_string(runs.front().end) +
                            "; kept records " + (kept_ranges.empty() ? "none" : kept_ranges) +
                            " in new segments, moved the file to corrupt/");
  return Status::Ok();
}

void FileSpool::IndexSegment(Segment& segment) {
  segment.index.clear();
  const char* data = segment.map.data();
  size_t offset = spool::kSegmentHeaderBytes;
  uint64_t seq = segment.first_seq;
  while (offset < segment.end) {
    int64_t ms;
    std::memcpy(&ms, data + offset + 16, sizeof ms);
    segment.AddToIndex(seq, offset, ms);
    offset += spool::RecordBytes(spool::PayloadLenAt(data, offset));
    ++seq;
  }
  segment.end_seq = seq;
}

Status FileSpool::MoveAside(const std::string& path) {
  const std::string corrupt = dir_ + "/corrupt";
  if (Status s = spool::EnsureDir(corrupt); !s.ok()) return s;
  const std::string target = corrupt + "/" + BaseName(path);
  if (::rename(path.c_str(), target.c_str()) != 0) return spool::ErrnoStatus("rename", path, errno);
  if (Status s = spool::SyncDir(corrupt); !s.ok()) return s;
  return spool::SyncDir(dir_);
}

}  // namespace rt

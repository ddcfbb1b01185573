// One tracked job as the store keeps it, and the compact form of a finished job's id once the job
// has left the output. A JobRecord is immutable once the store has published it: snapshots share
// the records of the jobs that did not change, and the record carries its own rendered lines so
// that an unchanged job is never rendered again.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>

#include "creatify/job.h"

namespace state {

// How many sections a job's rendered lines may be cut into (one per per-job metric family).
inline constexpr size_t kMaxJobSections = 8;

// A number no other record of this process has had: what tells a record from the one that replaced
// it once the old one is gone (the gzip builder keeps the serials of the records of its cached
// pieces, not the records). A copy or a move takes a new number: a copied record is changed before
// it is published, and a published record never changes.
class RecordSerial {
 public:
  RecordSerial() noexcept : value_(Next()) {}
  // noexcept: a record moves within a vector, not copied (its lines are large).
  RecordSerial(const RecordSerial&) noexcept : value_(Next()) {}
  RecordSerial& operator=(const RecordSerial&) noexcept {
    value_ = Next();
    return *this;
  }
  ~RecordSerial() = default;
  uint64_t value() const { return value_; }

 private:
  static uint64_t Next() noexcept {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t value_;
};

struct JobRecord {
  // The last known fields (what matters only while an answer is read is not kept).
  creatify::JobFields job;
  // Never unset: the last status the API sent, or kUnknown when it never sent a usable one.
  creatify::Status status = creatify::Status::kUnknown;
  // Unix time at which the store took the job's terminal transition (0 while unfinished). The
  // job leaves the output terminal_retention after it.
  double finished_at = 0;
  // Its terminal transition was counted in the kind's counters.
  bool counted = false;
  // Known only by its id (a webhook announced it): not read yet, so neither shown nor counted.
  bool unread = false;
  // The first read of the job saw it pending or in_queue (not running, terminal nor unknown): its
  // time in the queue can be measured. A job a webhook announced decides it at its first read.
  bool seen_queued = false;
  // Unix time (the cycle's now) of the first poll that saw the job running, or of its terminal
  // transition when no poll saw it running; 0 until then. Never changed once set.
  double running_seen_at = 0;

  // The job's per-job series in the exposition format, section after section (one section per
  // per-job family, in the renderer's order); section i is
  // lines[section_end[i-1] .. section_end[i]). Empty when per-job metrics are off.
  std::string lines;
  std::array<uint32_t, kMaxJobSections> section_end{};
  RecordSerial serial;

  std::string_view Section(size_t i) const {
    const uint32_t begin = i == 0 ? 0 : section_end[i - 1];
    return std::string_view(lines).substr(begin, section_end[i] - begin);
  }
};

static_assert(std::is_nothrow_move_constructible_v<JobRecord>);

// Fills record->lines and record->section_end from the other fields. `kind` is the kind label.
using JobRenderer = std::function<void(std::string_view kind, JobRecord* record)>;

// A stable 64-bit hash of a job id (FNV-1a): what the store remembers of a finished job once it
// has left the output, and what decides a job's shard. Stable across versions and platforms.
constexpr uint64_t IdHash(std::string_view id) {
  uint64_t hash = 14695981039346656037ull;
  for (char c : id) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

}  // namespace state

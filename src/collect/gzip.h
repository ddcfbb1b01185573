// The gzip form of the /metrics body, built from pieces that are compressed independently and
// kept from one render to the next: a piece whose text comes from the very same job records (a
// record is immutable, and replaced when its job changes) is not compressed again. A poll cycle
// that changes a few jobs recompresses the pieces that hold them and the small head.
//
// Each piece is a raw deflate stream ended by a sync flush (byte-aligned, no final block), so the
// pieces concatenate into one deflate stream, the way pigz joins its blocks; the gzip member ends
// with an empty final block, the CRC-32 of the whole (crc32_combine of the pieces') and its size.
// One gzip member, as every HTTP client expects.
//
// Not thread-safe: one builder per publisher, used by one render at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/store.h"

namespace collect {

class GzipBuilder {
 public:
  GzipBuilder();
  ~GzipBuilder();
  GzipBuilder(const GzipBuilder&) = delete;
  GzipBuilder& operator=(const GzipBuilder&) = delete;

  // Starts a new body.
  void Begin();
  // A piece of text that is compressed every time (the head, which changes with every render).
  void AddText(std::string_view text);
  // `section` of each of `records`, in order: compressed unless the previous body had a piece
  // under the same `key` made of the same records.
  void AddRecords(std::string key, size_t section, std::span<const state::JobList::Entry> records);
  // The gzip member of everything added since Begin; empty when zlib failed (the body is then
  // served plain). Forgets the cached pieces this body did not use.
  std::string Finish();

  // Of the last body: pieces compressed, and pieces reused from the body before.
  size_t compressed() const { return compressed_; }
  size_t reused() const { return reused_; }

 private:
  struct Piece {
    std::string deflated;
    uint32_t crc = 0;
    uint64_t length = 0;
  };
  struct Cached {
    std::vector<state::JobList::Entry> records;
    size_t section = 0;
    Piece piece;
    uint64_t body = 0;  // the last body that used it
  };

  bool Deflate(std::string_view text, Piece* piece);

  struct Stream;
  std::unique_ptr<Stream> stream_;
  bool failed_ = false;
  uint64_t body_ = 0;
  std::unordered_map<std::string, Cached> cache_;
  // The pieces of the body being built, in order: cached ones, and the texts compressed for this
  // body only (held in `fresh_`).
  std::vector<const Piece*> order_;
  std::deque<Piece> fresh_;
  std::string scratch_;
  size_t compressed_ = 0;
  size_t reused_ = 0;
};

}  // namespace collect

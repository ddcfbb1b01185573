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

// One piece of a gzip body: a raw deflate stream ended by a sync flush, with the CRC-32 and the
// length of the text it holds.
struct GzipPiece {
  std::string deflated;
  uint32_t crc = 0;
  uint64_t length = 0;
};

// A gzip member held as its pieces, shared with the builder's cache and with the bodies of other
// renders (and formats) that hold the same text: served piece by piece, never assembled.
class GzipBody {
 public:
  // False when zlib failed or nothing was compressed: the body is then served plain.
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Calls write() with the header, every piece and the trailer, in order; false when write()
  // stopped it.
  template <typename F>
  bool ForEach(F&& write) const {
    if (!write(std::string_view(kHeader, sizeof kHeader - 1))) return false;
    for (const auto& piece : pieces_) {
      if (!write(std::string_view(piece->deflated))) return false;
    }
    return write(std::string_view(trailer_));
  }
  // The whole member as one string (tests).
  std::string Joined() const;

 private:
  friend class GzipBuilder;
  // The magic bytes, deflate, no flags, no modification time, no extra flags, Unix.
  static constexpr char kHeader[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03";
  std::vector<std::shared_ptr<const GzipPiece>> pieces_;
  // An empty final block, the CRC-32 of the whole, its length.
  std::string trailer_;
  size_t size_ = 0;
};

class GzipBuilder {
 public:
  GzipBuilder();
  ~GzipBuilder();
  GzipBuilder(const GzipBuilder&) = delete;
  GzipBuilder& operator=(const GzipBuilder&) = delete;

  // Starts counting compressed and reused pieces anew: the bodies of one render (its formats).
  void StartRender();
  // Starts a new body.
  void Begin();
  // A piece of text that is compressed every time (the head, which changes with every render).
  void AddText(std::string_view text);
  // `section` of each of `records`, in order: compressed unless the previous body had a piece
  // under the same `key` made of the same records.
  void AddRecords(std::string key, size_t section, std::span<const state::JobList::Entry> records);
  // The gzip member of everything added since Begin; empty when zlib failed (the body is then
  // served plain). Forgets the cached pieces this body did not use.
  GzipBody Finish();

  // Since StartRender: pieces compressed, and pieces reused from a body before.
  size_t compressed() const { return compressed_; }
  size_t reused() const { return reused_; }

 private:
  using Piece = GzipPiece;
  // The serials of a piece's records, in order, hashed twice: equal digests mean the same records
  // (a false match needs two independent 64-bit hashes of distinct serial sequences to collide).
  struct Digest {
    uint64_t first = 0;
    uint64_t second = 0;
    size_t count = 0;
    friend bool operator==(const Digest&, const Digest&) = default;
  };
  static Digest DigestOf(std::span<const state::JobList::Entry> records);

  struct Cached {
    // Not the records: holding them would keep every replaced record alive until its piece goes.
    Digest records;
    size_t section = 0;
    std::shared_ptr<const Piece> piece;
    uint64_t body = 0;  // the last body that used it
  };

  // A new piece holding `text` compressed; null when zlib failed.
  std::shared_ptr<const Piece> Deflate(std::string_view text);

  struct Stream;
  std::unique_ptr<Stream> stream_;
  bool failed_ = false;
  uint64_t body_ = 0;
  std::unordered_map<std::string, Cached> cache_;
  // The pieces of the body being built, in order: cached ones, and the texts compressed for this
  // body only.
  std::vector<std::shared_ptr<const Piece>> order_;
  // A piece's text, and its compressed form as deflate writes it; emptied after each body.
  std::string scratch_;
  std::string out_;
  size_t compressed_ = 0;
  size_t reused_ = 0;
};

}  // namespace collect

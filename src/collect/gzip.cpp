#include "collect/gzip.h"

#include <zlib.h>

namespace collect {
namespace {

// zlib's fastest level: a whole 12 MB body in about the time of libdeflate's level 4 (which
// cannot end a piece without ending the stream), 15 % larger; and the kept pieces make most
// renders compress almost nothing (BENCHMARKS.md).
constexpr int kLevel = 1;

void AppendLe32(std::string* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// splitmix64's finaliser: every input bit moves every output bit.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

}  // namespace

struct GzipBuilder::Stream {
  z_stream z{};
  bool ready = false;
};

GzipBuilder::GzipBuilder() : stream_(std::make_unique<Stream>()) {
  // Raw deflate (negative window bits): the gzip header and trailer are written here.
  stream_->ready =
      deflateInit2(&stream_->z, kLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipBuilder::~GzipBuilder() {
  if (stream_->ready) deflateEnd(&stream_->z);
}

std::string GzipBody::Joined() const {
  std::string out;
  out.reserve(size_);
  ForEach([&](std::string_view piece) {
    out.append(piece);
    return true;
  });
  return out;
}

GzipBuilder::Digest GzipBuilder::DigestOf(std::span<const state::JobList::Entry> records) {
  Digest digest{
      .first = 0x243f6a8885a308d3ull, .second = 0x13198a2e03707344ull, .count = records.size()};
  for (const auto& record : records) {
    const uint64_t serial = record->serial.value();
    digest.first = Mix(digest.first ^ serial);
    digest.second = Mix(digest.second + serial * 0x9e3779b97f4a7c15ull + 0xa4093822299f31d0ull);
  }
  return digest;
}

void GzipBuilder::Begin() {
  ++body_;
  failed_ = !stream_->ready;
  order_.clear();
}

void GzipBuilder::StartRender() {
  compressed_ = 0;
  reused_ = 0;
}

std::shared_ptr<const GzipPiece> GzipBuilder::Deflate(std::string_view text) {
  z_stream& z = stream_->z;
  if (deflateReset(&z) != Z_OK) return nullptr;
  // Compressed into the builder's buffer, then copied into a piece of its exact size: a piece
  // allocated at the bound and shrunk would leave a hole of the bound's size behind each one.
  out_.resize(deflateBound(&z, text.size()) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out_.data());
  z.avail_out = static_cast<uInt>(out_.size());
  // A sync flush ends the piece on a byte boundary with an empty stored block, and no final
  // block: the next piece's blocks may follow.
  const int rc = deflate(&z, Z_SYNC_FLUSH);
  if (rc != Z_OK || z.avail_in != 0) return nullptr;
  auto piece = std::make_shared<Piece>();
  piece->deflated.assign(out_.data(), out_.size() - z.avail_out);
  piece->crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
  piece->length = text.size();
  ++compressed_;
  return piece;
}

void GzipBuilder::AddText(std::string_view text) {
  if (failed_ || text.empty()) return;
  auto piece = Deflate(text);
  if (!piece) {
    failed_ = true;
    return;
  }
  order_.push_back(std::move(piece));
}

void GzipBuilder::AddRecords(std::string key, size_t section,
                             std::span<const state::JobList::Entry> records) {
  if (failed_ || records.empty()) return;
  auto [it, added] = cache_.try_emplace(std::move(key));
  Cached& cached = it->second;
  if (!added && cached.body == body_) {
    // A key used twice in one body: its first piece stays as it is, this one is not kept.
    scratch_.clear();
    for (const auto& record : records) scratch_.append(record->Section(section));
    AddText(scratch_);
    return;
  }
  const Digest digest = DigestOf(records);
  if (!added && cached.section == section && cached.records == digest) {
    cached.body = body_;
    ++reused_;
    order_.push_back(cached.piece);
    return;
  }
  scratch_.clear();
  for (const auto& record : records) scratch_.append(record->Section(section));
  cached.records = digest;
  cached.section = section;
  cached.body = body_;
  cached.piece = Deflate(scratch_);
  if (!cached.piece) {
    cache_.erase(it);
    failed_ = true;
    return;
  }
  order_.push_back(cached.piece);
}

GzipBody GzipBuilder::Finish() {
  GzipBody body;
  if (!failed_) {
    size_t size = sizeof GzipBody::kHeader - 1 + 2 + 8;
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t length = 0;
    for (const auto& piece : order_) {
      size += piece->deflated.size();
      crc = crc32_combine(crc, piece->crc, static_cast<z_off_t>(piece->length));
      length += piece->length;
    }
    // An empty final block (fixed Huffman codes, end of block only).
    body.trailer_.assign("\x03\x00", 2);
    AppendLe32(&body.trailer_, static_cast<uint32_t>(crc));
    AppendLe32(&body.trailer_, static_cast<uint32_t>(length & 0xffffffffu));
    body.pieces_ = std::move(order_);
    body.size_ = size;
  }
  // Forget what this body did not use (jobs gone, pieces split or merged).
  std::erase_if(cache_, [this](const auto& entry) { return entry.second.body != body_; });
  order_.clear();
  // Not worth their room between bodies (up to a piece's worth of job lines, and its bound);
  // allocated again for the next body, beside the compression of its pieces.
  std::string().swap(scratch_);
  std::string().swap(out_);
  return body;
}

}  // namespace collect

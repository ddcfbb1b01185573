// Renders store snapshots into the exposition that /metrics serves, the kube-state-metrics way:
// every family is a small generator over the immutable snapshot, and a job's own series are
// rendered once, when the job changes, and kept with its record (RenderJobLines). An Exposition
// is rendered once per change of the state and then served to every scrape as it is, plain or
// gzip: a scrape copies no state and renders nothing.
//
// Thread-safety: the functions are pure; an Exposition is immutable and may be read from any
// number of threads; Publisher is thread-safe.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collect/gzip.h"
#include "collect/text_writer.h"
#include "state/job_record.h"
#include "state/store.h"

namespace collect {

struct RenderOptions {
  bool per_job_metrics = true;
  std::string version;
  std::string revision;
  // This replica's shard and the number of shards (creatify_exporter_shard_info).
  int shard = 0;
  int total_shards = 1;
  // Compress the body with gzip when rendering (the server serves it to clients that ask).
  bool gzip = true;
};

// The per-job families, in the order of the sections of a JobRecord's lines.
inline constexpr size_t kJobFamilies = 7;

// Renders the record's per-job series into record->lines (nothing when per-job metrics are off).
void RenderJobLines(const RenderOptions& options, std::string_view kind, state::JobRecord* record);

// The whole /metrics body for one snapshot, in both formats (text 0.0.4 and OpenMetrics 1.0.0).
// Holds the snapshot, whose job records carry most of the text, the same in both formats: the
// plain body is never held as one copy, and the gzip bodies share their pieces.
class Exposition {
 public:
  // Size of the plain body, in bytes.
  size_t size(Format format = Format::kText) const { return Of(format).size; }
  // The body compressed with gzip, as its pieces (empty when the options said not to compress).
  const GzipBody& gzip_body(Format format = Format::kText) const { return Of(format).gzip; }
  // The same as one string (tests).
  std::string gzip(Format format = Format::kText) const { return Of(format).gzip.Joined(); }
  // The plain body as one string (tests, small bodies).
  std::string Text(Format format = Format::kText) const;

  // Reads the plain body from its start, a buffer at a time: what a /metrics answer holds is one
  // buffer, not the body.
  class Reader {
   public:
    explicit Reader(std::shared_ptr<const Exposition> exposition, Format format = Format::kText);
    // Copies the next bytes of the body into `buffer`, at most `capacity`; 0 at the end.
    size_t Read(char* buffer, size_t capacity);

   private:
    std::string_view Piece() const;
    size_t Records(size_t kind) const;
    // Moves to the next piece, skipping the sections and kinds that have none left.
    void Next();
    void Settle();

    std::shared_ptr<const Exposition> exposition_;
    Format format_;
    // 0: the head; 1 + s: the per-job section s; 1 + sections: the tail.
    size_t section_ = 0;
    // 0: the section's family header; 1 + k: the records of kind k.
    size_t kind_ = 0;
    size_t record_ = 0;
    // Bytes of the current piece already read.
    size_t offset_ = 0;
    bool done_ = false;
  };

 private:
  friend std::shared_ptr<const Exposition> Render(std::shared_ptr<const state::Snapshot>,
                                                  const RenderOptions&, std::optional<double>,
                                                  GzipBuilder*);
  // What differs between the formats: the families that are not per job, the per-job families'
  // headers, the end.
  struct Form {
    // Every family that is not per job.
    std::string head;
    // # HELP and # TYPE of each per-job family; empty when per-job metrics are off.
    std::vector<std::string> job_headers;
    // "# EOF\n" in OpenMetrics.
    std::string tail;
    size_t size = 0;
    GzipBody gzip;
  };
  const Form& Of(Format format) const { return forms_[static_cast<size_t>(format)]; }
  // The gzip form of the body, reusing what `gzip` compressed for the bodies before.
  GzipBody Gzip(Format format, GzipBuilder& gzip) const;
  // Calls piece() with every piece of the body in order, unbuffered.
  template <typename F>
  bool ForEachPiece(Format format, F&& piece) const;

  std::shared_ptr<const state::Snapshot> snapshot_;
  std::array<Form, 2> forms_;
  // Records of the snapshot that carried no lines, rendered for this exposition only.
  std::vector<std::vector<state::JobRecord>> rendered_here_;
};

// `last_render_seconds`: how long the previous render took (creatify_exporter_render_seconds).
// `gzip`: the builder that keeps the compressed pieces of the previous renders (a new one when
// null).
std::shared_ptr<const Exposition> Render(std::shared_ptr<const state::Snapshot> snapshot,
                                         const RenderOptions& options,
                                         std::optional<double> last_render_seconds = std::nullopt,
                                         GzipBuilder* gzip = nullptr);

// The plain text of Render (tests).
std::string RenderText(const state::Snapshot& snapshot, const RenderOptions& options,
                       Format format = Format::kText);

// Holds the current exposition: renders each snapshot the store publishes, and hands the result
// to every scrape.
class Publisher {
 public:
  explicit Publisher(RenderOptions options) : options_(std::move(options)) {}
  void Publish(std::shared_ptr<const state::Snapshot> snapshot);
  // nullptr before the first Publish.
  std::shared_ptr<const Exposition> Current() const;
  RenderOptions options() const;
  // From the next Publish on (a reload).
  void SetOptions(RenderOptions options);

 private:
  mutable std::mutex mutex_;
  // Guarded by mutex_.
  RenderOptions options_;
  // Guarded by mutex_ (held only to copy or swap the pointer).
  std::shared_ptr<const Exposition> current_;
  // Held while rendering: Publish is called from one thread at a time (the store's publisher),
  // and this keeps it so.
  std::mutex render_mutex_;
  // Guarded by render_mutex_.
  std::optional<double> last_render_seconds_;
  GzipBuilder gzip_;
};

}  // namespace collect

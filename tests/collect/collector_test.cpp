#include "collect/collector.h"

#include <doctest/doctest.h>

#include <clocale>
#include <cmath>
#include <limits>
#include <locale>
#include <optional>
#include <regex>
#include <stdexcept>

#include "collect/text_writer.h"
#include "support/golden.h"
#include "support/gunzip.h"

using creatify::Job;
using creatify::Status;

namespace {

constexpr double kStart = 1'763'800'000;

const collect::RenderOptions kOptions{
    .per_job_metrics = true, .version = "1.2.3", .revision = "0123456789ab"};

Job MakeJob(std::string id, Status status) {
  Job job;
  job.id = std::move(id);
  job.status = status;
  job.raw_status = std::string(creatify::StatusName(status));
  return job;
}

// A store that has seen two poll cycles of every kind, with fields present and absent.
std::shared_ptr<const state::Snapshot> BusySnapshot() {
  state::Store store({"ads_clone", "custom_template", "aurora"}, kStart);

  Job clone = MakeJob("0c1d", Status::kRunning);
  clone.created_at = kStart + 1.5;
  clone.updated_at = kStart + 30;
  clone.info = {{"aspect_ratio", "9x16"}, {"language", "en"}};

  Job tmpl = MakeJob("7e3a", Status::kInQueue);
  tmpl.progress = 0.25;
  tmpl.created_at = kStart + 2;
  tmpl.info = {{"name", "Spring \"sale\"\nv2"}, {"model_version", "aurora_v1"}};

  Job weird = MakeJob("9f00", Status::kUnknown);
  weird.raw_status = "paused";

  Job aurora = MakeJob("a1", Status::kPending);
  aurora.created_at = kStart + 5;

  state::PollCycle first;
  first.up = true;
  first.finished_at = kStart + 10;
  first.duration_seconds = 0.3;
  first.remaining_credits = 1234.5;
  first.kinds = {{.kind = "ads_clone", .success = true, .jobs = {clone}},
                 {.kind = "custom_template", .success = true, .jobs = {tmpl, weird}},
                 {.kind = "aurora", .success = true, .complete_listing = true, .jobs = {aurora}}};
  first.requests = {{"ads_clone", "200", 0.07},
                    {"custom_template", "200", 0.2},
                    {"custom_template", "200", 0.3},
                    {"aurora", "200", 0.6},
                    {"remaining_credits", "200", 0.04}};
  store.Apply(first);

  clone.status = Status::kDone;
  clone.updated_at = kStart + 301.5;
  clone.credits_used = 12.5;
  clone.video_duration_seconds = 31;
  aurora.status = Status::kFailed;
  aurora.updated_at = kStart + 65;
  aurora.credits_used = 0;
  aurora.progress = 1;

  state::PollCycle second;
  second.up = false;
  second.finished_at = kStart + 40;
  second.duration_seconds = 10.2;
  second.kinds = {{.kind = "ads_clone", .success = true, .jobs = {clone}},
                  {.kind = "custom_template",
                   .success = false,
                   .invalid_items = 2,
                   .invalid_fields = {"progress", "progress", "created_at"}},
                  {.kind = "aurora", .success = true, .complete_listing = true, .jobs = {aurora}}};
  second.requests = {{"ads_clone", "200", 0.09},
                     {"custom_template", "timeout", 10},
                     {"custom_template", "parse", 0.1},
                     {"aurora", "200", 0.5},
                     {"remaining_credits", "429", 0.02}};
  store.Apply(second);
  return store.Current();
}

}  // namespace

TEST_CASE("exposition before the first poll") {
  state::Store store({"ads_clone", "aurora"}, kStart);
  std::string text = collect::RenderText(*store.Current(), kOptions);
  CHECK(text == testsupport::Golden("before_first_poll.prom", text));
}

TEST_CASE("exposition of every kind with per-job metrics") {
  std::string text = collect::RenderText(*BusySnapshot(), kOptions);
  CHECK(text == testsupport::Golden("busy.prom", text));
}

TEST_CASE("exposition without per-job metrics") {
  auto options = kOptions;
  options.per_job_metrics = false;
  std::string text = collect::RenderText(*BusySnapshot(), options);
  CHECK(text == testsupport::Golden("busy_no_per_job.prom", text));
  CHECK(text.find("\ncreatify_job_status") == std::string::npos);
  CHECK(text.find("\ncreatify_job_info") == std::string::npos);
  CHECK(text.find("job_id=") == std::string::npos);
}

TEST_CASE("a field the API did not send produces no sample") {
  std::string text = collect::RenderText(*BusySnapshot(), kOptions);
  // 9f00 was sent with status only.
  CHECK(text.find(
            "creatify_job_status{kind=\"custom_template\",job_id=\"9f00\",status=\"unknown\"} 1") !=
        std::string::npos);
  for (const char* family : {"creatify_job_progress_ratio", "creatify_job_video_duration_seconds",
                             "creatify_job_credits_used", "creatify_job_created_timestamp_seconds",
                             "creatify_job_updated_timestamp_seconds"}) {
    CHECK_MESSAGE(text.find(std::string(family) + "{kind=\"custom_template\",job_id=\"9f00\"}") ==
                      std::string::npos,
                  family);
  }
}

namespace {

// An installed locale that writes one half as "0,5", or nullopt.
std::optional<std::locale> DecimalCommaLocale() {
  for (const char* name : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "nl_NL.UTF-8"}) {
    try {
      std::locale locale(name);
      if (std::use_facet<std::numpunct<char>>(locale).decimal_point() == ',') return locale;
    } catch (const std::runtime_error&) {
      // Not installed here; try the next.
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("numbers render the same whatever the process locale") {
  const std::string before = collect::RenderText(*BusySnapshot(), kOptions);
  // Without a fraction in the text, a locale could change nothing and the test would prove
  // nothing.
  REQUIRE(std::regex_search(before, std::regex(R"(\} -?[0-9]+\.[0-9]+\n)")));
  std::optional<std::locale> comma = DecimalCommaLocale();
  REQUIRE_MESSAGE(comma.has_value(),
                  "no locale with a decimal comma is installed: scripts/install-deps.sh generates "
                  "de_DE.UTF-8 (or run: localedef -i de_DE -f UTF-8 de_DE.UTF-8)");
  // Sets the C library's locale too (printf, strtod), since the locale has a name.
  std::locale saved = std::locale::global(*comma);
  const std::string decimal_point = std::localeconv()->decimal_point;
  const std::string after = collect::RenderText(*BusySnapshot(), kOptions);
  std::locale::global(saved);
  REQUIRE(decimal_point == ",");
  CHECK(before == after);
}

TEST_CASE("the exposition is served in pieces and as gzip, both the same text") {
  auto snapshot = BusySnapshot();
  auto exposition = collect::Render(snapshot, kOptions);
  const std::string pieces = exposition->Text();
  CHECK(pieces == collect::RenderText(*snapshot, kOptions));
  CHECK(pieces.size() == exposition->size());
  REQUIRE(exposition->gzip().size() > 2);
  CHECK(testsupport::Gunzip(exposition->gzip()) == pieces);
  // Read a buffer at a time, whatever its size, it is the same text again.
  for (size_t capacity : {size_t{1}, size_t{7}, size_t{100}, size_t{4096}, size_t{1} << 20}) {
    collect::Exposition::Reader reader(exposition);
    std::string read;
    std::string buffer(capacity, '\0');
    while (size_t got = reader.Read(buffer.data(), capacity)) read.append(buffer.data(), got);
    CHECK(read == pieces);
    CHECK(reader.Read(buffer.data(), capacity) == 0);
  }
}

TEST_CASE("numbers are written as Prometheus parses them, shortest and exact") {
  auto number = [](double value) {
    std::string out;
    collect::AppendNumber(out, value);
    return out;
  };
  CHECK(number(0) == "0");
  CHECK(number(-0.0) == "0");
  CHECK(number(12.5) == "12.5");
  CHECK(number(1763800002) == "1763800002");
  CHECK(number(0.1) == "0.1");
  CHECK(number(1e-300) == "1e-300");
  CHECK(number(std::numeric_limits<double>::max()) == "1.7976931348623157e+308");
  CHECK(number(9007199254740992.0) == "9007199254740992");
  CHECK(number(1e300) == "1e+300");
  CHECK(number(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(number(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(number(std::nan("")) == "NaN");
  for (double value : {0.1, 1.0 / 3, 123456.789, 1e21, 2.5e-7, 4.9e-324}) {
    CHECK(std::strtod(number(value).c_str(), nullptr) == value);
  }
}

TEST_CASE("label values and help texts are escaped") {
  std::string out;
  collect::TextWriter writer(&out);
  writer.Family("x", "a \\ b\nc", "gauge");
  writer.Sample("x",
                {{"l",
                  "q\"\\\n\t\x01"
                  "end"}},
                1);
  CHECK(out ==
        "# HELP x a \\\\ b\\nc\n# TYPE x gauge\n"
        "x{l=\"q\\\"\\\\\\n  end\"} 1\n");
}

TEST_CASE("a job's lines are rendered with its record, section by section") {
  state::JobRecord record;
  record.job = MakeJob("j1", Status::kRunning);
  record.job.progress = 0.5;
  record.job.info = {{"name", "n"}};
  record.status = Status::kRunning;
  collect::RenderJobLines(kOptions, "aurora", &record);
  CHECK(record.Section(0).find(
            "creatify_job_status{kind=\"aurora\",job_id=\"j1\",status=\"running\"} 1\n") !=
        std::string_view::npos);
  CHECK(record.Section(1) == "creatify_job_progress_ratio{kind=\"aurora\",job_id=\"j1\"} 0.5\n");
  CHECK(record.Section(2).empty());
  CHECK(record.Section(6) == "creatify_job_info{kind=\"aurora\",job_id=\"j1\",name=\"n\"} 1\n");
  auto off = kOptions;
  off.per_job_metrics = false;
  collect::RenderJobLines(off, "aurora", &record);
  CHECK(record.lines.empty());
}

TEST_CASE("an unchanged job is not rendered again") {
  int renders = 0;
  state::Store store(
      state::StoreOptions{.kinds = {"aurora"},
                          .watching_since = kStart,
                          .render_job = [&](std::string_view kind, state::JobRecord* record) {
                            ++renders;
                            collect::RenderJobLines(kOptions, kind, record);
                          }});
  Job job = MakeJob("a", Status::kRunning);
  state::PollCycle cycle;
  cycle.finished_at = kStart + 1;
  cycle.kinds = {{.kind = "aurora", .success = true, .jobs = {job}}};
  store.Apply(cycle);
  auto first = store.Current();
  cycle.finished_at = kStart + 2;
  store.Apply(cycle);
  CHECK(renders == 1);
  // The two snapshots share the record.
  CHECK(&first->FindKind("aurora")->jobs.at("a") ==
        &store.Current()->FindKind("aurora")->jobs.at("a"));
  job.progress = 0.7;
  cycle.kinds = {{.kind = "aurora", .success = true, .jobs = {job}}};
  store.Apply(cycle);
  CHECK(renders == 2);
}

TEST_CASE("gzip: a render compresses again only the pieces whose jobs changed") {
  state::Store store(state::StoreOptions{
      .kinds = {"ads_clone", "aurora"},
      .watching_since = kStart,
      .render_job =
          [](std::string_view kind, state::JobRecord* record) {
            collect::RenderJobLines(kOptions, kind, record);
          },
  });
  auto cycle = [&](double at, const std::vector<Job>& clones, const std::vector<Job>& auroras) {
    state::PollCycle poll;
    poll.up = true;
    poll.finished_at = at;
    poll.kinds = {{.kind = "ads_clone", .success = true, .jobs = clones},
                  {.kind = "aurora", .success = true, .jobs = auroras}};
    store.Apply(poll);
  };
  std::vector<Job> clones;
  std::vector<Job> auroras;
  for (int i = 0; i < 3000; ++i) {
    Job job = MakeJob("clone-" + std::to_string(i), Status::kRunning);
    job.progress = 0.5;
    clones.push_back(job);
    auroras.push_back(MakeJob("aurora-" + std::to_string(i), Status::kPending));
  }
  cycle(kStart + 10, clones, auroras);

  collect::GzipBuilder gzip;
  auto check = [&](const std::shared_ptr<const collect::Exposition>& exposition) {
    for (auto format : {collect::Format::kText, collect::Format::kOpenMetrics}) {
      REQUIRE(exposition->gzip(format).size() > 20);
      CHECK(exposition->gzip_body(format).size() == exposition->gzip(format).size());
      CHECK(testsupport::Gunzip(exposition->gzip(format)) == exposition->Text(format));
    }
  };
  // Each render compresses the text head and the family headers, and OpenMetrics' head, family
  // headers and # EOF, every time.
  constexpr size_t kFixed = (1 + collect::kJobFamilies) + (1 + collect::kJobFamilies + 1);
  auto first = collect::Render(store.Current(), kOptions, std::nullopt, &gzip);
  check(first);
  // The job lines' pieces are compressed once, for the text body; OpenMetrics reuses them all.
  const size_t pieces = gzip.reused();
  CHECK(gzip.compressed() == pieces + kFixed);
  // 6000 jobs in 7 families: many pieces, each of a few hundred jobs.
  CHECK(pieces > 7 * 2 * 4);

  // Nothing changed but the head: every job piece is reused, by both bodies.
  cycle(kStart + 20, {}, {});
  auto same = collect::Render(store.Current(), kOptions, 0.1, &gzip);
  check(same);
  CHECK(gzip.compressed() == kFixed);
  CHECK(gzip.reused() == 2 * pieces);

  // One job moves, one finishes, one is new: only the pieces that hold them are compressed.
  clones[1234].progress = 0.75;
  auroras[17].status = Status::kDone;
  cycle(kStart + 30, {clones[1234], MakeJob("clone-new", Status::kPending)}, {auroras[17]});
  auto changed = collect::Render(store.Current(), kOptions, 0.1, &gzip);
  check(changed);
  CHECK(gzip.compressed() <= kFixed + 3 * collect::kJobFamilies);
  CHECK(gzip.reused() >= 2 * (pieces - 3 * collect::kJobFamilies));
  CHECK(changed->Text() != same->Text());

  // A job a webhook announced is not shown until read: it costs no piece, and the other records'
  // pieces stay as they were.
  REQUIRE(store.AddJob("aurora", "announced") == state::AddResult::kAdded);
  auto announced = collect::Render(store.Current(), kOptions, 0.1, &gzip);
  check(announced);
  CHECK(gzip.compressed() <= kFixed + 2 * collect::kJobFamilies);
  CHECK(gzip.reused() >= 2 * (pieces - 2 * collect::kJobFamilies));
  CHECK(announced->Text().find("announced") == std::string::npos);

  collect::Exposition::Reader reader(changed);
  std::string read(changed->size() + 1, '\0');
  CHECK(reader.Read(read.data(), read.size()) == changed->size());
  read.resize(changed->size());
  CHECK(read == changed->Text());

  // A new builder makes the same bytes from scratch.
  collect::GzipBuilder fresh;
  CHECK(collect::Render(store.Current(), kOptions, 0.1, &fresh)->gzip() ==
        collect::Render(store.Current(), kOptions, 0.1, &gzip)->gzip());
}

TEST_CASE("the breakdown families have one label per field and show only the field list in force") {
  state::Snapshot snapshot;
  snapshot.breakdown = {.fields = {"model_version", "failed_reason"}, .max_values = 20};
  state::KindSnapshot kind;
  kind.name = "custom_template";
  for (Status status : creatify::kTerminalStatuses) {
    kind.completed[status] = 0;
    kind.processing.emplace(status, state::Histogram(state::ProcessingBuckets()));
  }
  for (const char* stage : {"queued", "running"}) {
    kind.stage.emplace(stage, state::Histogram(state::StageBuckets()));
  }
  kind.breakdown[{{"model_version", "aurora_v1"}, {"failed_reason", ""}}] = {
      .completed = {{Status::kDone, 3}}, .credits_used = 60};
  kind.breakdown[{{"model_version", "other"}, {"failed_reason", "bad \"input\"\\\n"}}] = {
      .completed = {{Status::kFailed, 1}}, .credits_used = 0};
  // A field list of an earlier config: kept, not shown.
  kind.breakdown[{{"aspect_ratio", "9:16"}}] = {.completed = {{Status::kDone, 7}},
                                                .credits_used = 5};
  snapshot.kinds.push_back(kind);
  const std::string text = collect::RenderText(snapshot, kOptions);
  CHECK(text.find("# TYPE creatify_breakdown_jobs_completed_total counter\n") != std::string::npos);
  CHECK(
      text.find("creatify_breakdown_jobs_completed_total{kind=\"custom_template\",status=\"done\","
                "model_version=\"aurora_v1\",failed_reason=\"\"} 3\n") != std::string::npos);
  CHECK(text.find("creatify_breakdown_jobs_completed_total{kind=\"custom_template\",status="
                  "\"failed\",model_version=\"other\",failed_reason=\"bad \\\"input\\\"\\\\\\n\"} "
                  "1\n") != std::string::npos);
  CHECK(text.find("creatify_breakdown_credits_used_total{kind=\"custom_template\",model_version="
                  "\"aurora_v1\",failed_reason=\"\"} 60\n") != std::string::npos);
  CHECK(text.find("aspect_ratio") == std::string::npos);
  // Off: no breakdown family at all.
  snapshot.breakdown = {};
  CHECK(collect::RenderText(snapshot, kOptions).find("creatify_breakdown_") == std::string::npos);
}

TEST_CASE("with workspaces, every kind and API series names its workspace, up and credits each") {
  state::Store store(state::StoreOptions{.kinds = {"brand-a/aurora", "brand-b/aurora"},
                                         .watching_since = kStart,
                                         .workspaces = {"brand-a", "brand-b"},
                                         .breakdown = {.fields = {"name"}}});
  CHECK_FALSE(store.Current()->polled);
  Job running = MakeJob("a1", Status::kRunning);
  running.created_at = kStart + 1;
  running.info = {{"name", "spring"}};
  state::PollCycle a;
  a.workspace = "brand-a";
  a.up = true;
  a.finished_at = kStart + 10;
  a.duration_seconds = 0.25;
  a.remaining_credits = 100;
  a.kinds = {{.kind = "brand-a/aurora", .success = true, .jobs = {running}}};
  a.requests = {{"brand-a/aurora", "200", 0.1}, {"brand-a/remaining_credits", "200", 0.05}};
  store.Apply(a);
  // Ready once every workspace has polled.
  CHECK_FALSE(store.Current()->polled);
  Job done = running;
  done.status = Status::kDone;
  done.updated_at = kStart + 20;
  done.credits_used = 4;
  a.finished_at = kStart + 30;
  a.remaining_credits = 96;
  a.kinds = {{.kind = "brand-a/aurora", .success = true, .jobs = {done}}};
  store.Apply(a);
  state::PollCycle b;
  b.workspace = "brand-b";
  b.up = false;
  b.finished_at = kStart + 31;
  b.kinds = {{.kind = "brand-b/aurora", .success = false}};
  b.requests = {{"brand-b/aurora", "429", 0.01}};
  store.Apply(b);
  CHECK(store.Current()->polled);
  CHECK_FALSE(store.Current()->up);

  const std::string text = collect::RenderText(*store.Current(), kOptions);
  CHECK(text == testsupport::Golden("workspaces.prom", text));
  for (const char* line : {
           "creatify_up{workspace=\"brand-a\"} 1\n",
           "creatify_up{workspace=\"brand-b\"} 0\n",
           "creatify_remaining_credits{workspace=\"brand-a\"} 96\n",
           "creatify_jobs_completed_total{workspace=\"brand-a\",kind=\"aurora\",status=\"done\"} "
           "1\n",
           "creatify_jobs_completed_total{workspace=\"brand-b\",kind=\"aurora\",status=\"done\"} "
           "0\n",
           "creatify_credits_used_total{workspace=\"brand-a\",kind=\"aurora\"} 4\n",
           "creatify_breakdown_credits_used_total{workspace=\"brand-a\",kind=\"aurora\",name="
           "\"spring\"} 4\n",
           "creatify_job_status{workspace=\"brand-a\",kind=\"aurora\",job_id=\"a1\",status="
           "\"done\"} "
           "1\n",
           "creatify_exporter_api_requests_total{workspace=\"brand-b\",endpoint=\"aurora\",code="
           "\"429\"} 1\n",
           "creatify_exporter_poll_duration_seconds_count{workspace=\"brand-a\"} 2\n",
       }) {
    CAPTURE(line);
    CHECK(text.find(line) != std::string::npos);
  }
  // No series of a workspace-less kind, and no unlabelled up or credits.
  CHECK(text.find("{kind=") == std::string::npos);
  CHECK(text.find("\ncreatify_up ") == std::string::npos);
  CHECK(text.find("\ncreatify_exporter_poll_duration_seconds_count ") == std::string::npos);

  // A workspace taken away by a reload leaves the output; its counts stay, hidden.
  store.SetWorkspaces({"brand-a"});
  store.Reconfigure({"brand-a/aurora"}, 900, 86400, 10000, nullptr, false, {.fields = {"name"}});
  const std::string after = collect::RenderText(*store.Current(), kOptions);
  CHECK(after.find("brand-b") == std::string::npos);
  CHECK(store.Current()->polled);
  CHECK(store.Current()->up);
}

TEST_CASE("OpenMetrics: the same state with counter families, _created, # UNIT and # EOF") {
  const auto snapshot = BusySnapshot();
  const std::string text = collect::RenderText(*snapshot, kOptions, collect::Format::kOpenMetrics);
  CHECK(text == testsupport::Golden("busy.openmetrics", text));
  CHECK(text.ends_with("\n# EOF\n"));
  CHECK(text.find("# EOF") == text.size() - 6);
  CHECK(text.find("# TYPE creatify_jobs_completed counter\n") != std::string::npos);
  CHECK(text.find("# TYPE creatify_jobs_completed_total") == std::string::npos);
  CHECK(text.find("# UNIT creatify_job_processing_seconds seconds\n") != std::string::npos);
  // A series that counted from the start has the start as its created time; one made by a later
  // poll, that poll's time.
  CHECK(text.find("creatify_jobs_completed_created{kind=\"ads_clone\",status=\"done\"} " +
                  std::to_string(static_cast<long long>(kStart)) + "\n") != std::string::npos);
  CHECK(text.find("creatify_exporter_api_requests_created{endpoint=\"custom_template\",code="
                  "\"timeout\"} " +
                  std::to_string(static_cast<long long>(kStart + 40)) + "\n") != std::string::npos);
  // Canonical bucket bounds, _created after each histogram's samples.
  CHECK(text.find("le=\"1.0\"") != std::string::npos);
  CHECK(text.find("le=\"1\"") == std::string::npos);
  // The per-job lines are the very same text in both formats.
  const std::string plain = collect::RenderText(*snapshot, kOptions);
  const size_t om_jobs = text.find("# HELP creatify_job_status");
  const size_t text_jobs = plain.find("# HELP creatify_job_status");
  REQUIRE(om_jobs != std::string::npos);
  REQUIRE(text_jobs != std::string::npos);
  auto lines = [](std::string_view body) {
    std::string kept;
    size_t at = 0;
    while (at < body.size()) {
      size_t end = body.find('\n', at);
      std::string_view line = body.substr(at, end - at);
      if (!line.starts_with("#")) (kept += line) += '\n';
      at = end + 1;
    }
    return kept;
  };
  CHECK(lines(std::string_view(text).substr(om_jobs)) ==
        lines(std::string_view(plain).substr(text_jobs)));
}

TEST_CASE("OpenMetrics: HELP escapes its double quotes, the text format does not") {
  std::string text;
  collect::TextWriter om(&text, collect::Format::kOpenMetrics);
  om.Family("x_total", "say \"hi\"\\n", "counter");
  CHECK(text == "# HELP x say \\\"hi\\\"\\\\n\n# TYPE x counter\n");
  std::string plain;
  collect::TextWriter(&plain).Family("x_total", "say \"hi\"", "counter");
  CHECK(plain == "# HELP x_total say \"hi\"\n# TYPE x_total counter\n");
}

#include "simulator/model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <exception>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "simulator/draw.h"
#include "text/duration.h"

namespace simulator {
namespace {

// Ordered: bodies keep the field order of the API's documentation, which is easier to read.
using Json = nlohmann::ordered_json;

constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kHtmlType = "text/html; charset=utf-8";
constexpr std::string_view kMediaBase = "https://media.example.com/";
constexpr std::size_t kMaxIds = 100;

// The fault kinds, as /sim/state names them.
constexpr std::string_view kFault429 = "429";
constexpr std::string_view kFault5xx = "5xx";
constexpr std::string_view kFaultHtml = "malformed_html";
constexpr std::string_view kFaultTruncated = "malformed_truncated";
constexpr std::string_view kFaultItems = "malformed_items";
constexpr std::string_view kFaultField = "malformed_field";
constexpr std::array<std::string_view, 6> kFaultKinds = {kFault429,       kFault5xx,   kFaultHtml,
                                                         kFaultTruncated, kFaultItems, kFaultField};

constexpr std::string_view kRemainingCredits = "remaining_credits";
constexpr std::string_view kOtherEndpoint = "other";

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    return lower(x) == lower(y);
  });
}

const std::string* FindHeader(const Pairs& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

const std::string* FindParam(const Pairs& query, std::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) return &value;
  }
  return nullptr;
}

Response JsonResponse(int status, const Json& body) {
  return {.status = status,
          .headers = {{"Content-Type", std::string(kJsonType)}},
          .body = body.dump(),
          .api = false};
}

Response Detail(int status, std::string_view detail) {
  return JsonResponse(status, Json{{"detail", detail}});
}

// Locale-independent: a server's locale must not turn "42.5" into "42,5".
std::string FixedOne(double value) {
  char buf[32];
  auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 1);
  return std::string(buf, result.ptr);
}

Json OrNull(bool present, const std::string& value) {
  return present ? Json(value) : Json(nullptr);
}

Json Progress(const KindRow& row, double progress) {
  switch (row.progress) {
    case ProgressStyle::kPercentString:
      return FixedOne(progress * 100.0);
    case ProgressStyle::kRatioNumber:
      return std::round(progress * 100.0) / 100.0;
    case ProgressStyle::kPercentNumber:
      return std::round(progress * 1000.0) / 10.0;
    case ProgressStyle::kNone:
      break;
  }
  return nullptr;
}

Json JobJson(const KindRow& row, const Job& job, const JobState& state) {
  bool done = state.phase == Phase::kDone;
  bool started = state.phase != Phase::kPending;
  double credits = done ? job.credits : 0.0;
  Json credits_used = row.integer_credits ? Json(std::llround(credits)) : Json(credits);
  Json name = job.name ? Json(*job.name) : Json(nullptr);
  Json media_job = OrNull(started, job.media_job);
  Json video_output = OrNull(done, std::string(kMediaBase) + "videos/" + job.id + ".mp4");
  Json preview = OrNull(done, std::string(kMediaBase) + "previews/" + job.id + ".jpg");
  Json editor_url = OrNull(done, "https://app.example.com/editor/" + job.id + "/");
  Json duration = done ? Json(job.video_seconds) : Json(nullptr);
  Json failed_reason = OrNull(state.phase == Phase::kFailed, job.failed_reason);
  Json status = StatusWord(row, state);
  std::string created_at = FormatTime(job.created_at);
  std::string updated_at = FormatTime(state.updated_at);

  Json aspect_ratio = job.aspect_ratio;
  Json language = job.language ? Json(*job.language) : Json(nullptr);
  Json output = OrNull(done, std::string(kMediaBase) + "videos/" + job.id + ".mp4");
  // The fields of the kinds added later: every one has these, in this order, then its own.
  auto common = [&] {
    Json out{
        {"id", job.id},         {"created_at", created_at},       {"updated_at", updated_at},
        {"status", status},     {"failed_reason", failed_reason}, {"credits_used", credits_used},
        {"duration", duration}, {"media_job", media_job},         {"webhook_url", nullptr}};
    if (row.progress != ProgressStyle::kNone) out["progress"] = Progress(row, state.progress);
    return out;
  };
  Json out;
  switch (row.shape) {
    case Shape::kLipsync:
      out = common();
      out["aspect_ratio"] = aspect_ratio;
      out["audio_url"] = std::string(kMediaBase) + "lipsyncs/" + job.id + "/audio.mp3";
      out["is_hidden"] = job.is_hidden;
      out["output"] = output;
      out["preview"] = preview;
      return out;
    case Shape::kLipsyncV2:
      out = common();
      out["name"] = name;
      out["output"] = output;
      out["preview"] = preview;
      return out;
    case Shape::kAiShort:
    case Shape::kAiEditing:
      out = common();
      out["name"] = name;
      out["aspect_ratio"] = aspect_ratio;
      if (row.shape == Shape::kAiShort) {
        out["style"] = job.style;
      } else {
        out["editing_style"] = job.editing_style;
        out["video_url"] = job.reference_video;
      }
      out["video_output"] = video_output;
      out["preview"] = preview;
      out["is_hidden"] = job.is_hidden;
      return out;
    case Shape::kLinkToVideo:
      out = common();
      out["name"] = name;
      out["language"] = language;
      out["aspect_ratio"] = aspect_ratio;
      out["link"] = job.link;
      out["is_hidden"] = job.is_hidden;
      out["video_output"] = video_output;
      out["editor_url"] = editor_url;
      return out;
    case Shape::kTextToSpeech:
      out = common();
      out["script"] = "Meet the new " + job.product + ".";
      out["accent"] = job.link;
      out["output"] = OrNull(done, std::string(kMediaBase) + "audio/" + job.id + ".mp3");
      out["is_hidden"] = job.is_hidden;
      return out;
    case Shape::kProductToVideo:
      out = common();
      out["type"] = job.product_type;
      out["product_url"] = job.reference_video;
      out["aspect_ratio"] = aspect_ratio;
      out["generated_photo_url"] =
          OrNull(state.phase != Phase::kPending && state.phase != Phase::kInQueue,
                 std::string(kMediaBase) + "photos/" + job.id + ".png");
      out["generated_video_url"] = video_output;
      return out;
    case Shape::kGeneric:
      out = common();
      out["name"] = name;
      out["video_output"] = video_output;
      return out;
    case Shape::kAdsClone:
      return Json{{"id", job.id},
                  {"created_at", created_at},
                  {"updated_at", updated_at},
                  {"link", job.link},
                  {"video_url", job.reference_video},
                  {"aspect_ratio", job.aspect_ratio},
                  {"language", job.language ? Json(*job.language) : Json(nullptr)},
                  {"webhook_url", nullptr},
                  {"video_output", video_output},
                  {"credits_used", credits_used},
                  {"media_job", media_job},
                  {"status", status}};
    case Shape::kCustomTemplate:
      return Json{{"id", job.id},
                  {"created_at", created_at},
                  {"updated_at", updated_at},
                  {"name", name},
                  {"variables", Json{{"product_name", job.product},
                                     {"headline", "Meet the new " + job.product}}},
                  {"media_job", media_job},
                  {"video_output", video_output},
                  {"preview", preview},
                  {"editor_url", editor_url},
                  {"failed_reason", failed_reason},
                  {"credits_used", credits_used},
                  {"duration", duration},
                  {"status", status},
                  {"progress", Progress(row, state.progress)},
                  {"webhook_url", nullptr},
                  {"model_version", job.model_version}};
    case Shape::kAurora:
      break;
  }
  return Json{{"id", job.id},
              {"created_at", created_at},
              {"updated_at", updated_at},
              {"name", name},
              {"audio", std::string(kMediaBase) + "aurora/" + job.id + "/audio.mp3"},
              {"image", std::string(kMediaBase) + "aurora/" + job.id + "/avatar.png"},
              {"video_output", video_output},
              {"credits_used", credits_used},
              {"duration", duration},
              {"progress", Progress(row, state.progress)},
              {"failed_reason", failed_reason},
              {"media_job", media_job},
              {"status", status},
              {"is_hidden", job.is_hidden},
              {"webhook_url", nullptr},
              {"preview", preview},
              {"editor_url", editor_url}};
}

// Splits "a, b,,c" into {"a", "b", "c"}.
std::vector<std::string_view> SplitIds(std::string_view text) {
  std::vector<std::string_view> ids;
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) ids.push_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return ids;
}

// Where an /api/ path leads.
struct Route {
  std::string_view endpoint = kOtherEndpoint;
  bool valid = false;
  std::optional<std::size_t> kind;  // nullopt: remaining_credits
  std::optional<std::string_view> id;
};

Route RouteApi(const KindTable& kinds, std::string_view path) {
  if (path == "/api/remaining_credits/") {
    return {.endpoint = kRemainingCredits, .valid = true, .kind = std::nullopt, .id = std::nullopt};
  }
  for (std::size_t kind = 0; kind < kinds.size(); ++kind) {
    const KindRow& row = kinds[kind];
    if (!path.starts_with(row.path)) continue;
    Route route{.endpoint = row.name, .valid = false, .kind = kind, .id = std::nullopt};
    std::string_view rest = path.substr(row.path.size());
    if (rest.empty()) {
      route.valid = row.list;
    } else if (rest.size() > 1 && rest.back() == '/' && rest.find('/') == rest.size() - 1) {
      route.valid = true;
      route.id = rest.substr(0, rest.size() - 1);
    }
    return route;
  }
  return {};
}

// What a 5xx looks like in the wild: Django's plain error page, or a proxy's.
Response ServerError(std::mt19937_64& rng) {
  static constexpr std::array<int, 3> kCodes = {500, 502, 503};
  int code = kCodes[Pick(rng, kCodes.size())];
  std::string body;
  if (code == 500) {
    body =
        "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n"
        "</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n";
  } else {
    std::string title = code == 502 ? "502 Bad Gateway" : "503 Service Temporarily Unavailable";
    body = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
           "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
  }
  return {.status = code, .headers = {{"Content-Type", std::string(kHtmlType)}}, .body = body};
}

Response TooManyRequests(int retry_after) {
  std::string detail = "Request was throttled. Expected available in " +
                       std::to_string(retry_after) + (retry_after == 1 ? " second." : " seconds.");
  Response response = Detail(429, detail);
  response.headers.emplace_back("Retry-After", std::to_string(retry_after));
  return response;
}

// Gives one field of `item` a value of the wrong type.
void BreakField(Json& item, const KindRow& row, std::mt19937_64& rng) {
  std::vector<std::pair<std::string_view, Json>> choices = {
      {"credits_used", "n/a"},
      {"status", 3},
      {"updated_at", true},
      {"created_at", Json::array({2024, 1, 1})},
  };
  if (row.progress != ProgressStyle::kNone) choices.emplace_back("progress", Json::object());
  auto& [field, value] = choices[Pick(rng, choices.size())];
  item[std::string(field)] = value;
}

// A YAML double-quoted scalar: any path reads back as itself, "" included.
std::string YamlQuoted(std::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789ABCDEF";
      quoted += "\\x";
      quoted += kHex[(c >> 4) & 0xf];
      quoted += kHex[c & 0xf];
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

}  // namespace

Model::Model(Options options, Time start)
    : options_(std::move(options)), start_(start), now_(start) {
  std::seed_seq seq{static_cast<std::uint32_t>(options_.seed),
                    static_cast<std::uint32_t>(options_.seed >> 32), 0xfa17u};
  fault_rng_.seed(seq);
  if (!options_.hold) released_at_ = start;
  const std::size_t kinds = options_.kinds.size();
  jobs_.resize(kinds);
  counts_.invalid_items_sent.assign(kinds, 0);
  counts_.invalid_fields_sent.assign(kinds, 0);
  for (std::size_t kind = 0; kind < kinds; ++kind) {
    int count = InitialJobs(kind);
    for (int i = 0; i < count; ++i) {
      // One second apart, the newest at start, so that ordering by created_at is visible.
      Time created = start - std::chrono::seconds(count - 1 - i);
      AddJobLocked(kind, created);
    }
  }
  for (const auto& row : options_.kinds) counts_.by_endpoint_code[row.name];
  counts_.by_endpoint_code[std::string(kRemainingCredits)];
  for (auto fault : kFaultKinds) counts_.faults[std::string(fault)] = 0;
}

int Model::InitialJobs(std::size_t kind) const {
  auto it = options_.initial_jobs.find(options_.kinds[kind].name);
  return it == options_.initial_jobs.end() ? 0 : std::max(0, it->second);
}

void Model::AddJobLocked(std::size_t kind, Time created) {
  auto& jobs = jobs_[kind];
  jobs.push_back(
      MakeJob(options_.seed, kind, options_.kinds[kind], jobs.size(), created, options_.job));
  by_id_.emplace(jobs.back().id, std::make_pair(kind, jobs.size() - 1));
}

Time Model::AdvanceLocked(Time now) {
  now_ = std::max(now, now_);
  if (!released_at_) return now_;
  for (const auto& [name, interval] : options_.spawn_interval) {
    auto kind = FindKind(options_.kinds, name);
    if (!kind || interval <= Millis(0)) continue;
    auto& jobs = jobs_[*kind];
    std::size_t initial = static_cast<std::size_t>(InitialJobs(*kind));
    auto due = static_cast<std::size_t>((now_ - *released_at_) / interval);
    std::size_t target =
        std::min(static_cast<std::size_t>(std::max(0, options_.max_jobs)), initial + due);
    while (jobs.size() < target) {
      auto spawned = static_cast<Millis::rep>(jobs.size() - initial + 1);
      AddJobLocked(*kind, *released_at_ + interval * spawned);
    }
  }
  return now_;
}

std::optional<Time> Model::ClockStartLocked(const Job& job) const {
  if (!released_at_) return std::nullopt;
  return std::max(job.created_at, *released_at_);
}

double Model::RemainingCreditsLocked(Time now) const {
  double remaining = options_.initial_credits;
  for (const auto& jobs : jobs_) {
    for (const auto& job : jobs) {
      if (StateAt(job, ClockStartLocked(job), now).phase == Phase::kDone) remaining -= job.credits;
    }
  }
  return remaining;
}

Response Model::Answer(std::string_view method, std::string_view path, const Pairs& query,
                       const Pairs& headers, Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    now = AdvanceLocked(now);
    bool get = method == "GET" || method == "HEAD";
    if (path.starts_with("/api/")) {
      std::string endpoint;
      Response response = AnswerApiLocked(method, path, query, headers, now, &endpoint);
      response.api = true;
      ++counts_.by_endpoint_code[endpoint][response.status];
      return response;
    }
    if (path == "/sim/state") {
      if (!get) return Detail(405, "Method \"" + std::string(method) + "\" not allowed.");
      return {.status = 200,
              .headers = {{"Content-Type", std::string(kJsonType)}},
              .body = StateJsonLocked(now)};
    }
    if (path == "/sim/release") {
      if (method != "POST")
        return Detail(405, "Method \"" + std::string(method) + "\" not allowed.");
      if (!released_at_) released_at_ = now;
      return JsonResponse(200,
                          Json{{"released", true}, {"released_at", FormatTime(*released_at_)}});
    }
    return Detail(404, "Not found.");
  } catch (const std::exception& e) {
    // Nothing above should throw; if it does, the client gets a 500, never a dead server.
    return {.status = 500,
            .headers = {{"Content-Type", "text/plain"}},
            .body = std::string("simulator error: ") + e.what()};
  }
}

Response Model::AnswerApiLocked(std::string_view method, std::string_view path, const Pairs& query,
                                const Pairs& headers, Time now, std::string* endpoint) {
  Route route = RouteApi(options_.kinds, path);
  *endpoint = route.endpoint;
  // As in Django, an unknown URL is a 404 before any authentication.
  if (!route.valid) return Detail(404, "Not found.");

  const std::string* api_id = FindHeader(headers, "X-API-ID");
  const std::string* api_key = FindHeader(headers, "X-API-KEY");
  if (api_id == nullptr || api_key == nullptr || api_id->empty() || api_key->empty()) {
    return Detail(401, "Authentication credentials were not provided.");
  }
  if (*api_id != options_.api_id || *api_key != options_.api_key) {
    return Detail(403, "Invalid API credentials.");
  }
  if (method != "GET" && method != "HEAD") {
    Response response = Detail(405, "Method \"" + std::string(method) + "\" not allowed.");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }

  // One draw per request picks at most one fault, so each probability holds exactly.
  double draw = Uniform01(fault_rng_);
  if (draw < options_.fault_429) {
    ++counts_.faults[std::string(kFault429)];
    return TooManyRequests(options_.retry_after_seconds);
  }
  draw -= options_.fault_429;
  if (draw < options_.fault_5xx) {
    ++counts_.faults[std::string(kFault5xx)];
    return ServerError(fault_rng_);
  }
  draw -= options_.fault_5xx;
  bool malformed = draw < options_.fault_malformed;

  // The real answer.
  int status = 200;
  Json body;
  if (!route.kind) {
    body = Json{{"remaining_credits", RemainingCreditsLocked(now)}};
  } else if (route.id) {
    auto found = by_id_.find(std::string(*route.id));
    if (found == by_id_.end() || found->second.first != *route.kind) {
      status = 404;
      body = Json{{"detail", "Not found."}};
    } else {
      const Job& job = jobs_[found->second.first][found->second.second];
      body = JobJson(options_.kinds[job.kind], job, StateAt(job, ClockStartLocked(job), now));
    }
  } else {
    std::optional<std::unordered_set<std::string_view>> wanted;
    if (const std::string* ids = FindParam(query, "ids")) {
      std::vector<std::string_view> parts = SplitIds(*ids);
      if (parts.empty()) return JsonResponse(400, Json::array({"This field may not be blank."}));
      if (parts.size() > kMaxIds) {
        return JsonResponse(400, Json::array({"Maximum 100 entries allowed."}));
      }
      wanted.emplace(parts.begin(), parts.end());
    }
    std::vector<std::pair<const Job*, JobState>> rows;
    for (const auto& job : jobs_[*route.kind]) {
      if (wanted && !wanted->contains(job.id)) continue;
      rows.emplace_back(&job, StateAt(job, ClockStartLocked(job), now));
    }
    // Like Django REST Framework's OrderingFilter, an unknown field falls back to the default.
    std::string ordering = "-created_at";
    if (const std::string* param = FindParam(query, "ordering")) {
      if (*param == "created_at" || *param == "-created_at" || *param == "updated_at" ||
          *param == "-updated_at") {
        ordering = *param;
      }
    }
    bool descending = ordering.front() == '-';
    bool by_updated = ordering.ends_with("updated_at");
    std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) {
      Time ta = by_updated ? a.second.updated_at : a.first->created_at;
      Time tb = by_updated ? b.second.updated_at : b.first->created_at;
      return descending ? tb < ta : ta < tb;
    });
    body = Json::array();
    for (const auto& [job, state] : rows) {
      body.push_back(JobJson(options_.kinds[job->kind], *job, state));
    }
  }

  if (!malformed || status != 200) return JsonResponse(status, body);

  // A malformed 200. The variants that fit this body:
  std::vector<std::string_view> variants = {kFaultHtml, kFaultTruncated};
  if (body.is_array()) variants.push_back(kFaultItems);
  if (!body.is_array() || !body.empty()) variants.push_back(kFaultField);
  std::string_view variant = variants[Pick(fault_rng_, variants.size())];
  ++counts_.faults[std::string(variant)];

  if (variant == kFaultHtml) {
    return {.status = 200,
            .headers = {{"Content-Type", std::string(kHtmlType)}},
            .body =
                "<!DOCTYPE html>\n<html><head><title>Creatify</title></head><body>"
                "<h1>We'll be right back</h1><p>Scheduled maintenance.</p></body></html>\n"};
  }
  if (variant == kFaultTruncated) {
    std::string text = body.dump();
    std::size_t cut = 1 + Pick(fault_rng_, text.size() - 1);
    return {.status = 200,
            .headers = {{"Content-Type", std::string(kJsonType)}},
            .body = text.substr(0, cut)};
  }
  if (variant == kFaultItems) {
    // Not an object; an object without id; an id of the wrong type.
    std::array<Json, 3> bad = {Json(42), Json{{"status", "done"}, {"progress", 1}},
                               Json{{"id", 42}, {"status", "running"}}};
    for (auto& item : bad) {
      std::size_t at = Pick(fault_rng_, body.size() + 1);
      body.insert(body.begin() + static_cast<std::ptrdiff_t>(at), item);
    }
    counts_.invalid_items_sent[*route.kind] += static_cast<long>(bad.size());
    return JsonResponse(200, body);
  }
  // kFaultField
  if (!route.kind) {
    body["remaining_credits"] = "n/a";
  } else {
    Json& item = body.is_array() ? body[Pick(fault_rng_, body.size())] : body;
    BreakField(item, options_.kinds[*route.kind], fault_rng_);
    ++counts_.invalid_fields_sent[*route.kind];
  }
  return JsonResponse(200, body);
}

std::string Model::StateJson(Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  return StateJsonLocked(AdvanceLocked(now));
}

void Model::Release(Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  now = AdvanceLocked(now);
  if (!released_at_) released_at_ = now;
}

std::vector<std::string> Model::Ids(std::size_t kind, Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  AdvanceLocked(now);
  std::vector<std::string> ids;
  if (kind >= jobs_.size()) return ids;
  for (const auto& job : jobs_[kind]) ids.push_back(job.id);
  return ids;
}

std::vector<Model::Finished> Model::FinishedJobs(Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  now = AdvanceLocked(now);
  std::vector<Finished> finished;
  for (std::size_t kind = 0; kind < jobs_.size(); ++kind) {
    for (const auto& job : jobs_[kind]) {
      const JobState state = StateAt(job, ClockStartLocked(job), now);
      if (IsTerminal(state.phase)) {
        finished.push_back({std::string(options_.kinds[kind].name), job.id, state.phase});
      }
    }
  }
  return finished;
}

std::string Model::StateJsonLocked(Time now) const {
  Json kinds = Json::object();
  for (std::size_t kind = 0; kind < jobs_.size(); ++kind) {
    const KindRow& row = options_.kinds[kind];
    Json status = Json::object();
    Json completed = Json::object();
    Json credits = Json::object();
    Json processing = Json::object();
    for (Phase phase : kAllPhases) status[std::string(PhaseName(phase))] = 0;
    for (Phase phase : kTerminalPhases) {
      completed[std::string(PhaseName(phase))] = 0;
      credits[std::string(PhaseName(phase))] = 0.0;
      processing[std::string(PhaseName(phase))] = 0.0;
    }
    double credits_total = 0;
    // Of the terminal jobs: created_at to the start of the run, and from there to the end.
    double queued_sum = 0;
    double running_sum = 0;
    // Unix seconds of the oldest job per unfinished status.
    Json oldest = Json::object();
    Json ids = Json::array();
    for (const auto& job : jobs_[kind]) {
      const std::optional<Time> clock_start = ClockStartLocked(job);
      JobState state = StateAt(job, clock_start, now);
      // What the exporter should report once it has mapped the kind's word.
      state.phase = ReportedPhase(row, state.phase);
      std::string phase(PhaseName(state.phase));
      status[phase] = status[phase].get<long>() + 1;
      if (IsTerminal(state.phase)) {
        completed[phase] = completed[phase].get<long>() + 1;
        double used = state.phase == Phase::kDone ? job.credits : 0.0;
        credits[phase] = credits[phase].get<double>() + used;
        credits_total += used;
        double seconds = std::chrono::duration<double>(state.updated_at - job.created_at).count();
        processing[phase] = processing[phase].get<double>() + seconds;
        const Time running = *clock_start + job.stages[0] + job.stages[1];
        queued_sum += std::chrono::duration<double>(running - job.created_at).count();
        running_sum += std::chrono::duration<double>(state.updated_at - running).count();
      } else {
        const double created =
            std::chrono::duration<double>(job.created_at.time_since_epoch()).count();
        if (!oldest.contains(phase) || created < oldest[phase].get<double>()) {
          oldest[phase] = created;
        }
      }
      ids.push_back(job.id);
    }
    credits["total"] = credits_total;
    kinds[row.name] = Json{{"jobs", jobs_[kind].size()},
                           {"status", status},
                           {"completed", completed},
                           {"credits_used", credits},
                           {"processing_seconds_sum", processing},
                           {"invalid_items_sent", counts_.invalid_items_sent[kind]},
                           {"invalid_fields_sent", counts_.invalid_fields_sent[kind]},
                           {"ids", ids}};
    kinds[row.name]["stage_seconds_sum"] = Json{{"queued", queued_sum}, {"running", running_sum}};
    kinds[row.name]["oldest_unfinished_created_at"] = oldest;
  }

  long total = 0;
  Json by_endpoint = Json::object();
  Json by_endpoint_code = Json::object();
  std::map<int, long> by_code;
  for (const auto& [endpoint, codes] : counts_.by_endpoint_code) {
    long sum = 0;
    Json per_code = Json::object();
    for (const auto& [code, count] : codes) {
      per_code[std::to_string(code)] = count;
      by_code[code] += count;
      sum += count;
    }
    by_endpoint[endpoint] = sum;
    by_endpoint_code[endpoint] = per_code;
    total += sum;
  }
  Json codes = Json::object();
  for (const auto& [code, count] : by_code) codes[std::to_string(code)] = count;
  Json faults = Json::object();
  for (auto fault : kFaultKinds) faults[std::string(fault)] = counts_.faults.at(std::string(fault));

  Json state{{"time", FormatTime(now)},
             {"started_at", FormatTime(start_)},
             {"released", released_at_.has_value()},
             {"released_at", released_at_ ? Json(FormatTime(*released_at_)) : Json(nullptr)},
             {"initial_credits", options_.initial_credits},
             {"remaining_credits", RemainingCreditsLocked(now)},
             {"kinds", kinds},
             {"requests", Json{{"total", total},
                               {"by_endpoint", by_endpoint},
                               {"by_code", codes},
                               {"by_endpoint_code", by_endpoint_code}}},
             {"faults", faults}};
  return state.dump();
}

std::string ExporterConfigYaml(std::string_view base_url, Millis poll_interval,
                               const std::vector<std::string>& ads_clone_ids,
                               const std::vector<std::string>& custom_template_ids,
                               const std::optional<std::string>& state_path) {
  auto id_list = [](const std::vector<std::string>& ids) {
    if (ids.empty()) return std::string("  ids: []\n");
    std::string text = "  ids:\n";
    for (const auto& id : ids) text += "    - \"" + id + "\"\n";
    return text;
  };
  std::string yaml;
  yaml += "# creatify-exporter configuration for the Creatify simulator at ";
  yaml += base_url;
  yaml += ".\n";
  yaml += "# The credentials are not in this file: set them in the environment,\n";
  yaml += "# CREATIFY_API_ID and CREATIFY_API_KEY, to the simulator's --api-id and --api-key.\n";
  yaml += "api:\n  base_url: ";
  yaml += base_url;
  yaml += "\npoll_interval: " + text::FormatDuration(poll_interval) + "\n";
  if (state_path) yaml += "state:\n  path: " + YamlQuoted(*state_path) + "\n";
  yaml += "ads_clone:\n" + id_list(ads_clone_ids);
  yaml += "custom_template_jobs:\n" + id_list(custom_template_ids);
  yaml += "# Aurora has a list endpoint: no ids means every job of the workspace.\n";
  yaml += "aurora:\n  enabled: true\n";
  return yaml;
}

}  // namespace simulator

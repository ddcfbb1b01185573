#include "checker/fake_api.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>
#include <stdexcept>
#include <utility>

namespace checker {

bool IsTerminalWord(const std::string& status) {
  return status == "done" || status == "failed" || status == "rejected";
}

std::string IsoTime(double unix_seconds) {
  const auto millis = static_cast<long long>(std::llround(unix_seconds * 1000));
  const time_t seconds = static_cast<time_t>(millis / 1000);
  struct tm tm {};
  gmtime_r(&seconds, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis % 1000);
  return out;
}

namespace {

uint64_t Fnv(const std::string& text, uint64_t salt) {
  uint64_t hash = 14695981039346656037ULL ^ salt;
  for (unsigned char byte : text) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

std::string AspectRatioOf(const std::string& id) {
  static const char* const kValues[] = {"16x9", "9x16", "1x1", ""};
  return kValues[Fnv(id, 1) % 4];
}

std::string FailedReasonOf(const std::string& id) {
  static const char* const kValues[] = {"timeout", "content policy", "bad \"media\"\\"};
  return kValues[Fnv(id, 2) % 3];
}

namespace {

std::string Number(double value) {
  char out[64];
  std::snprintf(out, sizeof out, "%.3f", value);
  return out;
}

// `"name": value` unless the bad field is this one; then null, nothing or a malformed value.
void Field(std::string& json, const char* name, const std::string& value, bool bad, BadShape shape,
           const std::string& malformed) {
  if (bad && shape == BadShape::kMissing) return;
  json += ", \"";
  json += name;
  json += "\": ";
  if (!bad) {
    json += value;
  } else if (shape == BadShape::kNull) {
    json += "null";
  } else {
    json += malformed;
  }
}

std::vector<std::string> SplitIds(const std::string& joined) {
  std::vector<std::string> ids;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    if (comma > start) ids.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return ids;
}

}  // namespace

std::string FakeApi::Serve(Entry& entry, const std::string& client) {
  const ApiJob& job = entry.job;
  ++entry.serves;
  const bool terminal = IsTerminalWord(job.status);
  bool bad_now = false;
  if (terminal) {
    ++entry.terminal_serves;
    ++entry.terminal_serves_to[client];
    bad_now = entry.terminal_serves <= job.bad_answers;
  }
  auto bad = [&](BadField field) { return bad_now && job.bad == field; };
  std::string json = "{\"id\": \"" + job.id + "\", \"status\": \"" + job.status + "\"";
  Field(json, "credits_used", Number(terminal ? job.credits_used : 0), bad(BadField::kCredits),
        job.shape, "\"lots\"");
  Field(json, "created_at", "\"" + IsoTime(job.created_at) + "\"", bad(BadField::kCreatedAt),
        job.shape, "\"yesterday\"");
  Field(json, "updated_at", "\"" + IsoTime(terminal ? job.updated_at : job.created_at) + "\"",
        bad(BadField::kUpdatedAt), job.shape, "\"later\"");
  json += ", \"name\": \"checker\"";
  if (const std::string ratio = AspectRatioOf(job.id); !ratio.empty()) {
    json += ", \"aspect_ratio\": \"" + ratio + "\"";
  }
  if (job.status == "failed") {
    json += ", \"failed_reason\": \"";
    for (char c : FailedReasonOf(job.id)) {
      if (c == '"' || c == '\\') json += '\\';
      json += c;
    }
    json += "\"";
  }
  json += "}";
  return json;
}

FakeApi::FakeApi() : FakeApi("", "") {}

FakeApi::FakeApi(std::string api_id, std::string api_key)
    : api_id_(std::move(api_id)), api_key_(std::move(api_key)) {
  server_.Get("/api/remaining_credits/",
              [this](const httplib::Request& req, httplib::Response& res) {
                {
                  std::lock_guard<std::mutex> lock(mutex_);
                  if (!Authorized(req, res)) return;
                  ++cycles_;
                  Note(req, 200);
                }
                res.set_content("{\"remaining_credits\": 1000}", "application/json");
              });
  server_.Get(
      R"(/api/ads_clone/([^/]+)/)", [this](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!Authorized(req, res)) return;
        auto it = jobs_.find(req.matches[1]);
        if (it == jobs_.end() || it->second.job.kind != "ads_clone") {
          Note(req, 404);
          res.status = 404;
          res.set_content("{\"detail\": \"Not found.\"}", "application/json");
          return;
        }
        res.set_content(Serve(it->second, req.get_header_value("X-API-ID")), "application/json");
        Note(req, 200);
      });
  server_.Get("/api/aurora/", [this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!Authorized(req, res)) return;
    std::string body = "[";
    auto add = [&](Entry& entry) {
      if (body.size() > 1) body += ", ";
      body += Serve(entry, req.get_header_value("X-API-ID"));
    };
    if (req.has_param("ids")) {
      std::set<std::string> seen;
      for (const auto& id : SplitIds(req.get_param_value("ids"))) {
        auto it = jobs_.find(id);
        if (it != jobs_.end() && it->second.job.kind == "aurora" && seen.insert(id).second) {
          add(it->second);
        }
      }
    } else {
      // Newest first, as ordering=-created_at asks.
      for (auto it = aurora_order_.rbegin(); it != aurora_order_.rend(); ++it) add(jobs_[*it]);
    }
    body += "]";
    Note(req, 200);
    res.set_content(body, "application/json");
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake API: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

FakeApi::~FakeApi() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeApi::Put(const ApiJob& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, inserted] = jobs_.try_emplace(job.id);
  it->second.job = job;
  if (inserted && job.kind == "aurora") aurora_order_.push_back(job.id);
}

int FakeApi::Serves(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  return it == jobs_.end() ? 0 : it->second.serves;
}

int FakeApi::TerminalServes(const std::string& id, const std::string& client) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return 0;
  auto to = it->second.terminal_serves_to.find(client);
  return to == it->second.terminal_serves_to.end() ? 0 : to->second;
}

bool FakeApi::Authorized(const httplib::Request& req, httplib::Response& res) {
  if (api_id_.empty() || (req.get_header_value("X-API-ID") == api_id_ &&
                          req.get_header_value("X-API-KEY") == api_key_)) {
    return true;
  }
  ++refused_;
  Note(req, 401);
  res.status = 401;
  res.set_content("{\"detail\": \"Invalid API credentials.\"}", "application/json");
  return false;
}

void FakeApi::Note(const httplib::Request& req, int status) {
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::string line = IsoTime(now) + " " + req.path;
  if (req.has_param("ids")) line += "?ids=" + req.get_param_value("ids");
  recent_.push_back(line + " " + std::to_string(status));
  if (recent_.size() > 40) recent_.pop_front();
}

std::string FakeApi::Recent() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  for (const auto& line : recent_) out += "  " + line + "\n";
  return out;
}

int FakeApi::Cycles() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cycles_;
}

int FakeApi::Refused() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_;
}

}  // namespace checker

// The simulation model, driven with explicit times: no server, no clock, no sleeping.
#include "simulator/model.h"

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace simulator {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;

const Time kStart{Millis(1'800'000'000'000)};  // 2027-01-15T08:00:00.000Z

Pairs Auth() { return {{"X-API-ID", "demo-id"}, {"X-API-KEY", "demo-key"}}; }

Response Get(Model& model, const std::string& path, Time now, const Pairs& query = {},
             const Pairs& headers = Auth()) {
  return model.Answer("GET", path, query, headers, now);
}

Json GetJson(Model& model, const std::string& path, Time now, const Pairs& query = {}) {
  Response response = Get(model, path, now, query);
  REQUIRE_MESSAGE(response.status == 200,
                  path << " -> " << response.status << " " << response.body);
  return Json::parse(response.body);
}

Json State(Model& model, Time now) { return Json::parse(model.StateJson(now)); }

std::string ContentType(const Response& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "Content-Type") return value;
  }
  return "";
}

std::string Header(const Response& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

Options OneOfEach() {
  Options options;
  options.initial_jobs = {{"ads_clone", 1}, {"custom_template", 1}, {"aurora", 1}};
  return options;
}

// Fetches every job of every kind at `now`: by id for ads_clone, from the lists for the others.
std::vector<Json> AllJobs(Model& model, Time now) {
  std::vector<Json> jobs;
  Json state = State(model, now);
  for (const auto& id : state["kinds"]["ads_clone"]["ids"]) {
    jobs.push_back(GetJson(model, "/api/ads_clone/" + id.get<std::string>() + "/", now));
    jobs.back()["kind"] = "ads_clone";
  }
  for (const auto& [kind, path] : {std::pair{"custom_template", "/api/custom_template_jobs/"},
                                   std::pair{"aurora", "/api/aurora/"}}) {
    for (auto job : GetJson(model, path, now)) {
      job["kind"] = kind;
      jobs.push_back(job);
    }
  }
  return jobs;
}

double ProgressOf(const Json& job) {
  const Json& progress = job["progress"];
  if (progress.is_string()) return std::stod(progress.get<std::string>()) / 100.0;
  return progress.get<double>();
}

std::string JobPath(const std::string& kind, const std::string& id) {
  if (kind == "ads_clone") return "/api/ads_clone/" + id + "/";
  if (kind == "custom_template") return "/api/custom_template_jobs/" + id + "/";
  return "/api/aurora/" + id + "/";
}

TEST_CASE("each job goes pending, in_queue, running, then a terminal status, once") {
  Options options = OneOfEach();
  options.job.stage_duration = seconds(10);
  for (const char* kind : {"ads_clone", "custom_template", "aurora"}) {
    CAPTURE(kind);
    // A model per kind: the model's time never goes back.
    Model model(options, kStart);
    Json state = State(model, kStart);
    std::string id = state["kinds"][kind]["ids"][0];
    std::vector<std::string> statuses;
    std::vector<std::string> updated;
    double last_progress = 0;
    Json terminal;
    // Stages last 5 to 15 s each: 45 s covers the longest life.
    for (Time t = kStart; t <= kStart + seconds(46); t += Millis(100)) {
      const Json job = GetJson(model, JobPath(kind, id), t);
      std::string status = job["status"];
      if (statuses.empty() || statuses.back() != status) {
        statuses.push_back(status);
        updated.push_back(job["updated_at"]);
      } else {
        CHECK(job["updated_at"] == updated.back());  // only a status change moves updated_at
      }
      bool done = status == "done";
      bool ended = done || status == "failed" || status == "rejected";
      if (!ended) CHECK(job["credits_used"] == 0);
      if (job.contains("duration")) CHECK(job["duration"].is_null() == !done);
      if (job.contains("progress")) {
        double progress = ProgressOf(job);
        CHECK(progress >= last_progress);
        if (status == "pending" || status == "in_queue") CHECK(progress == 0);
        if (done) CHECK(progress == 1);
        last_progress = progress;
      }
      if (ended) terminal = job;
    }
    REQUIRE(statuses.size() == 4);
    CHECK(statuses[0] == "pending");
    CHECK(statuses[1] == "in_queue");
    CHECK(statuses[2] == "running");
    CHECK((statuses[3] == "done" || statuses[3] == "failed" || statuses[3] == "rejected"));
    // A terminal job does not change again.
    CHECK(GetJson(model, JobPath(kind, id), kStart + std::chrono::hours(24)) == terminal);
  }
}

TEST_CASE("stage lengths are the stage duration times 0.5 to 1.5") {
  Options options;
  options.initial_jobs = {{"ads_clone", 0}, {"custom_template", 0}, {"aurora", 200}};
  options.job.stage_duration = seconds(10);
  Model model(options, kStart);
  // At 5 s - 1 ms no stage can have ended.
  for (const auto& job : GetJson(model, "/api/aurora/", kStart + Millis(4'999))) {
    CHECK(job["status"] == "pending");
  }
  // Half-way, the jobs are spread over the stages.
  std::set<std::string> middle;
  for (const auto& job : GetJson(model, "/api/aurora/", kStart + seconds(20))) {
    middle.insert(job["status"].get<std::string>());
  }
  CHECK(middle.count("in_queue") == 1);
  CHECK(middle.count("running") == 1);
  // At 45 s every job has ended.
  std::set<std::string> statuses;
  for (const auto& job : GetJson(model, "/api/aurora/", kStart + seconds(45))) {
    statuses.insert(job["status"].get<std::string>());
  }
  CHECK(statuses.count("pending") == 0);
  CHECK(statuses.count("in_queue") == 0);
  CHECK(statuses.count("running") == 0);
}

TEST_CASE("fields: every schema field, ISO 8601 times with milliseconds, UUIDv4 ids") {
  Model model(OneOfEach(), kStart);
  const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  const std::regex uuid(R"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})");
  const std::map<std::string, std::vector<std::string>> fields = {
      {"ads_clone",
       {"id", "created_at", "updated_at", "link", "video_url", "aspect_ratio", "language",
        "webhook_url", "video_output", "credits_used", "media_job", "status"}},
      {"custom_template",
       {"id", "created_at", "updated_at", "name", "variables", "media_job", "video_output",
        "preview", "editor_url", "failed_reason", "credits_used", "duration", "status", "progress",
        "webhook_url", "model_version"}},
      {"aurora",
       {"id", "created_at", "updated_at", "name", "audio", "image", "video_output", "credits_used",
        "duration", "progress", "failed_reason", "media_job", "status", "is_hidden", "webhook_url",
        "preview", "editor_url"}},
  };
  for (Time t : {kStart, kStart + seconds(20), kStart + seconds(50)}) {
    for (Json job : AllJobs(model, t)) {
      std::string kind = job["kind"];
      job.erase("kind");
      CAPTURE(job.dump());
      std::set<std::string> keys;
      for (const auto& item : job.items()) keys.insert(item.key());
      const auto& expected = fields.at(kind);
      CHECK(keys == std::set<std::string>(expected.begin(), expected.end()));
      CHECK(std::regex_match(job["id"].get<std::string>(), uuid));
      CHECK(std::regex_match(job["created_at"].get<std::string>(), time));
      CHECK(std::regex_match(job["updated_at"].get<std::string>(), time));
      CHECK(job["created_at"] <= job["updated_at"]);
      if (kind == "custom_template") {
        CHECK(job["progress"].is_string());
        std::string model_version = job["model_version"];
        CHECK((model_version == "standard" || model_version == "aurora_v1" ||
               model_version == "aurora_v1_fast"));
        CHECK(job["variables"].is_object());
      }
      if (kind == "aurora") {
        CHECK(job["progress"].is_number());
        CHECK(job["is_hidden"].is_boolean());
      }
      if (kind == "ads_clone") CHECK(job["credits_used"].is_number_float());
      if (kind != "ads_clone") CHECK(job["credits_used"].is_number_integer());
      bool done = job["status"] == "done";
      CHECK(job["video_output"].is_string() == done);
      if (kind != "ads_clone") {
        CHECK(job["failed_reason"].is_string() == (job["status"] == "failed"));
        if (done) CHECK((job["duration"] >= 10 && job["duration"] <= 60));
      }
    }
  }
}

TEST_CASE("the same seed gives the same jobs and answers, another seed other ids") {
  Options options;
  options.fault_malformed = 0.3;
  Model a(options, kStart);
  Model b(options, kStart);
  options.seed = 2;
  Model c(options, kStart);
  for (int step = 0; step < 40; ++step) {
    Time t = kStart + seconds(step);
    CHECK(Get(a, "/api/aurora/", t).body == Get(b, "/api/aurora/", t).body);
    CHECK(Get(a, "/api/custom_template_jobs/", t).body ==
          Get(b, "/api/custom_template_jobs/", t).body);
  }
  CHECK(a.StateJson(kStart + seconds(40)) == b.StateJson(kStart + seconds(40)));
  for (std::size_t kind : {kAdsClone, kCustomTemplate, kAurora}) {
    std::vector<std::string> ids_a = a.Ids(kind, kStart);
    std::vector<std::string> ids_c = c.Ids(kind, kStart);
    CHECK(ids_a.size() == 5);
    CHECK(std::set<std::string>(ids_a.begin(), ids_a.end()).size() == 5);
    for (const auto& id : ids_c) CHECK(std::find(ids_a.begin(), ids_a.end(), id) == ids_a.end());
  }
}

TEST_CASE("hold keeps every job pending until release, the clocks start at the release") {
  Options options;
  options.hold = true;
  options.spawn_interval["aurora"] = seconds(1);
  Model model(options, kStart);
  Time later = kStart + std::chrono::hours(1);
  Json state = State(model, later);
  CHECK(state["released"] == false);
  CHECK(state["released_at"].is_null());
  for (const auto& job : AllJobs(model, later)) {
    CHECK(job["status"] == "pending");
    CHECK(job["updated_at"] == job["created_at"]);
  }
  CHECK(state["kinds"]["aurora"]["jobs"] == 5);  // spawning waits for the release too

  CHECK(model.Answer("GET", "/sim/release", {}, {}, later).status == 405);
  Response release = model.Answer("POST", "/sim/release", {}, {}, later);
  CHECK(release.status == 200);
  CHECK_FALSE(release.api);
  Json released = Json::parse(release.body);
  CHECK(released["released"] == true);
  CHECK(State(model, later)["released"] == true);

  // The shortest stage is 5 s: just before, nothing has moved. (Checked before the second
  // release below, since the model's clock never goes back.)
  for (const auto& job : AllJobs(model, later + Millis(4'999))) CHECK(job["status"] == "pending");

  // Idempotent: a second release changes nothing.
  Response again = model.Answer("POST", "/sim/release", {}, {}, later + seconds(30));
  CHECK(again.status == 200);
  CHECK(Json::parse(again.body) == released);
  Time end = later + seconds(45);
  Json final_state = State(model, end);
  for (const char* kind : {"ads_clone", "custom_template"}) {
    CHECK(final_state["kinds"][kind]["completed"]["done"].get<int>() +
              final_state["kinds"][kind]["completed"]["failed"].get<int>() +
              final_state["kinds"][kind]["completed"]["rejected"].get<int>() ==
          5);
  }
  CHECK(final_state["kinds"]["aurora"]["jobs"] == 5 + 45);
}

TEST_CASE("without hold the clocks start at process start") {
  Model model(Options{}, kStart);
  CHECK(State(model, kStart)["released"] == true);
  int moved = 0;
  for (const auto& job : AllJobs(model, kStart + seconds(15))) moved += job["status"] != "pending";
  CHECK(moved == 15);
}

TEST_CASE("terminal mix follows the ratios") {
  struct Case {
    double failure, rejection;
  };
  for (Case c : {Case{0.15, 0.05}, Case{0.5, 0.25}, Case{0, 0}, Case{1, 0}, Case{0, 1}}) {
    CAPTURE(c.failure);
    CAPTURE(c.rejection);
    Options options;
    options.initial_jobs = {{"ads_clone", 1000}, {"custom_template", 1000}, {"aurora", 1000}};
    options.job.failure_ratio = c.failure;
    options.job.rejection_ratio = c.rejection;
    Model model(options, kStart);
    Json state = State(model, kStart + std::chrono::hours(1));
    for (const char* kind : {"ads_clone", "custom_template", "aurora"}) {
      const Json& completed = state["kinds"][kind]["completed"];
      double failed = completed["failed"].get<double>() / 1000;
      double rejected = completed["rejected"].get<double>() / 1000;
      double done = completed["done"].get<double>() / 1000;
      CHECK(failed + rejected + done == doctest::Approx(1.0));
      // 1000 draws: three standard deviations are under 0.05.
      CHECK(std::abs(failed - c.failure) < 0.05);
      CHECK(std::abs(rejected - c.rejection) < 0.05);
    }
  }
}

TEST_CASE("credits: done jobs only, and remaining credits agree with /sim/state") {
  Options options;
  options.initial_jobs = {{"ads_clone", 40}, {"custom_template", 40}, {"aurora", 40}};
  options.initial_credits = 5000;
  Model model(options, kStart);
  for (int s : {0, 12, 20, 25, 30, 60}) {
    Time t = kStart + seconds(s);
    CAPTURE(s);
    std::map<std::string, double> used;
    for (const auto& job : AllJobs(model, t)) {
      double credits = job["credits_used"].get<double>();
      std::string status = job["status"];
      if (status == "done") {
        CHECK(credits > 0);
        if (job["kind"] == "ads_clone") CHECK(credits != std::floor(credits));
      } else {
        CHECK(credits == 0);
      }
      used[job["kind"].get<std::string>()] += credits;
    }
    Json state = State(model, t);
    double total = 0;
    for (const auto& [kind, sum] : used) {
      CHECK(state["kinds"][kind]["credits_used"]["total"].get<double>() == doctest::Approx(sum));
      CHECK(state["kinds"][kind]["credits_used"]["done"].get<double>() == doctest::Approx(sum));
      CHECK(state["kinds"][kind]["credits_used"]["failed"] == 0);
      total += sum;
    }
    double remaining = GetJson(model, "/api/remaining_credits/", t)["remaining_credits"];
    CHECK(remaining == doctest::Approx(5000 - total));
    CHECK(state["remaining_credits"].get<double>() == doctest::Approx(remaining));
    if (s == 0) CHECK(remaining == 5000);
    if (s == 60) CHECK(remaining < 5000);
  }
}

TEST_CASE("/sim/state counts jobs per status and terminal status") {
  Options options;
  options.initial_jobs = {{"ads_clone", 30}, {"custom_template", 30}, {"aurora", 30}};
  Model model(options, kStart);
  Time t = kStart + seconds(22);
  std::map<std::string, std::map<std::string, int>> counted;
  for (const auto& job : AllJobs(model, t))
    ++counted[job["kind"].get<std::string>()][job["status"].get<std::string>()];
  Json state = State(model, t);
  for (const char* kind : {"ads_clone", "custom_template", "aurora"}) {
    CAPTURE(kind);
    CHECK(state["kinds"][kind]["jobs"] == 30);
    CHECK(state["kinds"][kind]["ids"].size() == 30);
    for (const auto& [status, count] : state["kinds"][kind]["status"].items()) {
      CHECK(count == counted[kind][status]);
    }
    for (const auto& [status, count] : state["kinds"][kind]["completed"].items()) {
      CHECK(count == counted[kind][status]);
    }
  }
}

TEST_CASE("authentication failures, 404s and 405 look like Django REST Framework's") {
  Model model(OneOfEach(), kStart);
  std::string path = "/api/aurora/" + model.Ids(kAurora, kStart)[0] + "/";

  Response none = Get(model, path, kStart, {}, {});
  CHECK(none.status == 401);
  CHECK(Json::parse(none.body) ==
        Json{{"detail", "Authentication credentials were not provided."}});
  CHECK(ContentType(none) == "application/json");
  CHECK(Get(model, path, kStart, {}, {{"X-API-ID", "demo-id"}}).status == 401);
  CHECK(Get(model, path, kStart, {}, {{"X-API-KEY", "demo-key"}}).status == 401);

  Response wrong = Get(model, path, kStart, {}, {{"X-API-ID", "demo-id"}, {"X-API-KEY", "nope"}});
  CHECK(wrong.status == 403);
  CHECK(Json::parse(wrong.body) == Json{{"detail", "Invalid API credentials."}});
  CHECK(Get(model, path, kStart, {}, {{"X-API-ID", "other"}, {"X-API-KEY", "demo-key"}}).status ==
        403);
  // Header names are case-insensitive in HTTP.
  CHECK(Get(model, path, kStart, {}, {{"x-api-id", "demo-id"}, {"x-api-key", "demo-key"}}).status ==
        200);

  for (const char* missing : {"/api/aurora/00000000-0000-4000-8000-000000000000/", "/api/nope/",
                              "/api/ads_clone/", "/api/remaining_credits", "/metrics"}) {
    CAPTURE(missing);
    Response response = Get(model, missing, kStart);
    CHECK(response.status == 404);
    CHECK(Json::parse(response.body) == Json{{"detail", "Not found."}});
  }
  // An id of another kind is not found either.
  CHECK(Get(model, "/api/ads_clone/" + model.Ids(kAurora, kStart)[0] + "/", kStart).status == 404);

  Response post = model.Answer("POST", path, {}, Auth(), kStart);
  CHECK(post.status == 405);
  CHECK(Header(post, "Allow") == "GET, HEAD");

  Json requests = State(model, kStart)["requests"];
  CHECK(requests["by_code"]["401"] == 3);
  CHECK(requests["by_code"]["403"] == 2);
  CHECK(requests["by_code"]["404"] == 5);  // /metrics is not an API request
  CHECK(requests["by_code"]["405"] == 1);
  CHECK(requests["by_endpoint_code"]["aurora"]["200"] == 1);
  CHECK(requests["by_endpoint"]["ads_clone"] == 2);
  CHECK(requests["by_endpoint"]["other"] == 2);
  CHECK(requests["total"] == 12);
}

TEST_CASE("?ids= filters the list, with at most 100 ids") {
  Options options;
  options.initial_jobs = {{"ads_clone", 0}, {"custom_template", 10}, {"aurora", 10}};
  Model model(options, kStart);
  std::vector<std::string> ids = model.Ids(kAurora, kStart);
  Json some = GetJson(model, "/api/aurora/", kStart,
                      {{"ids", ids[2] + "," + ids[7] + ",unknown," + ids[2]}});
  std::set<std::string> got;
  for (const auto& job : some) got.insert(job["id"].get<std::string>());
  CHECK(got == std::set<std::string>{ids[2], ids[7]});
  CHECK(GetJson(model, "/api/custom_template_jobs/", kStart, {{"ids", ids[2]}}).empty());

  std::string hundred;
  for (int i = 0; i < 100; ++i)
    hundred += (i ? "," : "") + (i < 10 ? ids[i] : "x" + std::to_string(i));
  CHECK(GetJson(model, "/api/aurora/", kStart, {{"ids", hundred}}).size() == 10);

  Response too_many = Get(model, "/api/aurora/", kStart, {{"ids", hundred + ",one-more"}});
  CHECK(too_many.status == 400);
  Json errors = Json::parse(too_many.body);
  REQUIRE(errors.is_array());
  REQUIRE(errors.size() >= 1);
  for (const auto& error : errors) CHECK(error.is_string());

  CHECK(Get(model, "/api/aurora/", kStart, {{"ids", ""}}).status == 400);
}

TEST_CASE("?ordering= sorts by created_at or updated_at, newest first by default") {
  Options options;
  options.initial_jobs = {{"ads_clone", 0}, {"custom_template", 0}, {"aurora", 20}};
  Model model(options, kStart);
  Time t = kStart + seconds(17);
  auto order = [&](const Pairs& query, const char* field) {
    std::vector<std::string> values;
    for (const auto& job : GetJson(model, "/api/aurora/", t, query)) values.push_back(job[field]);
    return values;
  };
  std::vector<std::string> ascending = order({{"ordering", "created_at"}}, "created_at");
  CHECK(std::is_sorted(ascending.begin(), ascending.end()));
  CHECK(std::set<std::string>(ascending.begin(), ascending.end()).size() == 20);
  std::vector<std::string> descending = order({{"ordering", "-created_at"}}, "created_at");
  CHECK(std::is_sorted(descending.rbegin(), descending.rend()));
  CHECK(order({}, "created_at") == descending);
  CHECK(order({{"ordering", "name"}}, "created_at") == descending);
  std::vector<std::string> updated = order({{"ordering", "updated_at"}}, "updated_at");
  CHECK(std::is_sorted(updated.begin(), updated.end()));
  CHECK(updated != order({{"ordering", "created_at"}}, "updated_at"));
  std::vector<std::string> newest = order({{"ordering", "-updated_at"}}, "updated_at");
  CHECK(std::is_sorted(newest.rbegin(), newest.rend()));
}

TEST_CASE("aurora jobs are added every spawn interval, up to the maximum") {
  Options options;
  options.spawn_interval["aurora"] = seconds(10);
  options.max_jobs = 8;
  Model model(options, kStart);
  CHECK(model.Ids(kAurora, kStart + Millis(9'999)).size() == 5);
  CHECK(model.Ids(kAurora, kStart + seconds(25)).size() == 7);
  CHECK(model.Ids(kAurora, kStart + std::chrono::hours(5)).size() == 8);
  Json jobs =
      GetJson(model, "/api/aurora/", kStart + std::chrono::hours(5), {{"ordering", "-created_at"}});
  CHECK(jobs[0]["created_at"] == FormatTime(kStart + seconds(30)));
  CHECK(jobs[2]["created_at"] == FormatTime(kStart + seconds(10)));
  CHECK(jobs[0]["status"] != "pending");
}

TEST_CASE("time never goes back") {
  Model model(OneOfEach(), kStart);
  std::string id = model.Ids(kAurora, kStart)[0];
  Json late = GetJson(model, "/api/aurora/" + id + "/", kStart + seconds(50));
  CHECK(GetJson(model, "/api/aurora/" + id + "/", kStart) == late);
}

TEST_CASE("fault 429: Retry-After and a detail body") {
  Options options;
  options.fault_429 = 1;
  options.retry_after_seconds = 7;
  Model model(options, kStart);
  for (const char* path : {"/api/aurora/", "/api/remaining_credits/"}) {
    Response response = Get(model, path, kStart);
    CHECK(response.status == 429);
    CHECK(Header(response, "Retry-After") == "7");
    Json body = Json::parse(response.body);
    CHECK(body["detail"].get<std::string>().find("throttled") != std::string::npos);
  }
  // Authentication comes first, as in Django REST Framework.
  CHECK(Get(model, "/api/aurora/", kStart, {}, {}).status == 401);
  Json state = State(model, kStart);
  CHECK(state["faults"]["429"] == 2);
  CHECK(state["requests"]["by_code"]["429"] == 2);
  CHECK(state["requests"]["by_endpoint_code"]["remaining_credits"]["429"] == 1);
}

TEST_CASE("fault 5xx: 500, 502 and 503 with HTML bodies") {
  Options options;
  options.fault_5xx = 1;
  Model model(options, kStart);
  std::set<int> codes;
  for (int i = 0; i < 60; ++i) {
    Response response = Get(model, "/api/aurora/", kStart);
    codes.insert(response.status);
    CHECK(ContentType(response).starts_with("text/html"));
    CHECK(response.body.find("<html") != std::string::npos);
    CHECK_FALSE(Json::accept(response.body));
  }
  CHECK(codes == std::set<int>{500, 502, 503});
  CHECK(State(model, kStart)["faults"]["5xx"] == 60);
}

TEST_CASE("fault malformed: HTML, truncated JSON, bad list items, a wrong-typed field") {
  Options options;
  options.initial_jobs = {{"ads_clone", 1}, {"custom_template", 4}, {"aurora", 4}};
  options.fault_malformed = 1;
  Model model(options, kStart);
  Time t = kStart + seconds(20);
  std::map<std::string, int> seen;
  for (int i = 0; i < 200; ++i) {
    const char* path = i % 2 ? "/api/aurora/" : "/api/custom_template_jobs/";
    Response response = Get(model, path, t);
    REQUIRE(response.status == 200);
    if (ContentType(response).starts_with("text/html")) {
      CHECK_FALSE(Json::accept(response.body));
      ++seen["malformed_html"];
      continue;
    }
    CHECK(ContentType(response) == "application/json");
    if (!Json::accept(response.body)) {
      ++seen["malformed_truncated"];
      continue;
    }
    Json body = Json::parse(response.body);
    REQUIRE(body.is_array());
    if (body.size() == 7) {
      // The 4 real items and: a number, an object without id, an object with a numeric id.
      int number = 0, no_id = 0, numeric_id = 0, real = 0;
      for (const auto& item : body) {
        if (item.is_number())
          ++number;
        else if (!item.contains("id"))
          ++no_id;
        else if (item["id"].is_number())
          ++numeric_id;
        else
          ++real;
      }
      CHECK(number == 1);
      CHECK(no_id == 1);
      CHECK(numeric_id == 1);
      CHECK(real == 4);
      ++seen["malformed_items"];
      continue;
    }
    REQUIRE(body.size() == 4);
    int wrong = 0;
    for (const auto& item : body) {
      bool bad = !item["status"].is_string() || !item["updated_at"].is_string() ||
                 !item["created_at"].is_string() || !item["credits_used"].is_number() ||
                 !(item["progress"].is_number() || item["progress"].is_string());
      wrong += bad;
    }
    CHECK(wrong == 1);
    ++seen["malformed_field"];
  }
  Json state = State(model, t);
  for (const char* variant :
       {"malformed_html", "malformed_truncated", "malformed_items", "malformed_field"}) {
    CAPTURE(variant);
    CHECK(seen[variant] > 10);
    CHECK(state["faults"][variant] == seen[variant]);
  }
  CHECK(state["kinds"]["aurora"]["invalid_items_sent"].get<int>() +
            state["kinds"]["custom_template"]["invalid_items_sent"].get<int>() ==
        3 * seen["malformed_items"]);
  CHECK(state["kinds"]["aurora"]["invalid_fields_sent"].get<int>() +
            state["kinds"]["custom_template"]["invalid_fields_sent"].get<int>() ==
        seen["malformed_field"]);

  // A single job or the credits are never "bad list items".
  std::string id = model.Ids(kAdsClone, t)[0];
  for (int i = 0; i < 40; ++i) {
    Response job = Get(model, "/api/ads_clone/" + id + "/", t);
    if (Json::accept(job.body)) CHECK(Json::parse(job.body).is_object());
    Response credits = Get(model, "/api/remaining_credits/", t);
    if (Json::accept(credits.body)) {
      CHECK(Json::parse(credits.body) == Json{{"remaining_credits", "n/a"}});
    }
  }
}

TEST_CASE("fault probability 0 means no fault") {
  Model model(Options{}, kStart);
  std::string id = model.Ids(kAdsClone, kStart)[0];
  for (int i = 0; i < 300; ++i) {
    Time t = kStart + Millis(100 * i);
    for (const std::string& path :
         std::vector<std::string>{"/api/aurora/", "/api/custom_template_jobs/",
                                  "/api/remaining_credits/", "/api/ads_clone/" + id + "/"}) {
      Response response = Get(model, path, t);
      REQUIRE(response.status == 200);
      REQUIRE(ContentType(response) == "application/json");
      REQUIRE(Json::accept(response.body));
    }
  }
  Json state = State(model, kStart + seconds(30));
  for (const auto& [kind, count] : state["faults"].items()) CHECK(count == 0);
  CHECK(state["requests"]["by_code"]["200"] == 1200);
}

TEST_CASE("faults never change the jobs or the credits") {
  Options faulty;
  faulty.fault_429 = 0.3;
  faulty.fault_5xx = 0.3;
  faulty.fault_malformed = 0.4;
  Model model(faulty, kStart);
  Model clean(Options{}, kStart);
  for (int s = 0; s < 50; s += 5) {
    Get(model, "/api/aurora/", kStart + seconds(s));
    Get(model, "/api/remaining_credits/", kStart + seconds(s));
  }
  Time end = kStart + seconds(50);
  Json a = State(model, end);
  Json b = State(clean, end);
  for (const char* kind : {"ads_clone", "custom_template", "aurora"}) {
    for (const char* key : {"jobs", "status", "completed", "credits_used", "ids"}) {
      CHECK(a["kinds"][kind][key] == b["kinds"][kind][key]);
    }
  }
  CHECK(a["remaining_credits"] == b["remaining_credits"]);
  int faults = 0;
  for (const auto& [kind, count] : a["faults"].items()) faults += count.get<int>();
  CHECK(faults == 20);
}

TEST_CASE("/sim/ routes need no credentials and are neither counted nor delayed") {
  Options options;
  options.fault_5xx = 1;
  Model model(options, kStart);
  Response state = model.Answer("GET", "/sim/state", {}, {}, kStart);
  CHECK(state.status == 200);
  CHECK_FALSE(state.api);
  CHECK(Get(model, "/api/aurora/", kStart).api);
  CHECK(Json::parse(model.StateJson(kStart))["requests"]["total"] == 1);
}

TEST_CASE("the exporter config points at the simulator and lists its ids") {
  std::string yaml =
      ExporterConfigYaml("http://127.0.0.1:4242", Millis(5'000), {"a-1", "a-2"}, {"c-1"}, {});
  CHECK(yaml.find("CREATIFY_API_ID") != std::string::npos);
  CHECK(yaml.find("demo-key") == std::string::npos);
  YAML::Node root = YAML::Load(yaml);
  CHECK(root["api"]["base_url"].as<std::string>() == "http://127.0.0.1:4242");
  CHECK(root["api"].size() == 1);
  CHECK(root["poll_interval"].as<std::string>() == "5s");
  CHECK(root["ads_clone"]["ids"].as<std::vector<std::string>>() ==
        std::vector<std::string>{"a-1", "a-2"});
  CHECK(root["custom_template_jobs"]["ids"].as<std::vector<std::string>>() ==
        std::vector<std::string>{"c-1"});
  CHECK(root["aurora"]["enabled"].as<bool>());
  CHECK_FALSE(root["state"]);  // left out: the exporter's default path

  YAML::Node empty = YAML::Load(ExporterConfigYaml("http://h:1", Millis(1'500), {}, {}, {}));
  CHECK(empty["ads_clone"]["ids"].size() == 0);
  CHECK(empty["poll_interval"].as<std::string>() == "1s500ms");
}

TEST_CASE("the exporter config's state.path reads back as given, whatever its characters") {
  for (std::string path : {"/var/lib/creatify-exporter/state.db", "", "state.db", "a \"b\" \\c: #d",
                           "tab\there", "- [x]"}) {
    std::string yaml = ExporterConfigYaml("http://h:1", Millis(1'000), {}, {}, path);
    YAML::Node root = YAML::Load(yaml);
    CHECK_MESSAGE(root["state"]["path"].as<std::string>() == path, yaml);
    CHECK(root["state"].size() == 1);
  }
}

TEST_CASE("FormatTime is ISO 8601 UTC with milliseconds") {
  CHECK(FormatTime(Time(Millis(0))) == "1970-01-01T00:00:00.000Z");
  CHECK(FormatTime(kStart + Millis(123)) == "2027-01-15T08:00:00.123Z");
}

}  // namespace
}  // namespace simulator

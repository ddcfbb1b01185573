// The checker's scripted Creatify API: serves, per job, exactly what the driver set, and counts
// what it served (per job, and full poll cycles by their one remaining_credits request), so
// that the driver can wait for "the exporter has read this" instead of sleeping.
//
// Two kinds only: ads_clone, asked for by id (GET /api/ads_clone/{id}/), and aurora, listed
// (GET /api/aurora/, with or without ?ids=). A terminal answer can carry a bad credits_used,
// created_at or updated_at for its first `bad_answers` serves, then turn clean. With credentials
// (one fake API per workspace, each its own), it answers only the requests that carry them.
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <httplib.h>

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace checker {

enum class BadField { kNone, kCredits, kCreatedAt, kUpdatedAt };
enum class BadShape { kNull, kMissing, kMalformed };

struct ApiJob {
  // The workspace (`workspaces:`) whose API serves it; "" without workspaces.
  std::string workspace;
  std::string kind;  // "ads_clone" or "aurora"
  std::string id;
  double created_at = 0;  // Unix seconds, millisecond precision
  std::string status = "pending";
  // Sent in terminal answers; unfinished answers send 0 and updated_at = created_at.
  double credits_used = 0;
  double updated_at = 0;
  BadField bad = BadField::kNone;
  BadShape shape = BadShape::kNull;
  // Terminal answers served with the bad field before the clean ones.
  int bad_answers = 0;
};

bool IsTerminalWord(const std::string& status);

// The string fields a job is served with, drawn from its id (not from a sequence's randomness, so
// that seeds found before replay as they did): aspect_ratio, sent by every answer when not empty
// (only ads_clone reads it), and failed_reason, sent by a failed job's terminal answers.
std::string AspectRatioOf(const std::string& id);
std::string FailedReasonOf(const std::string& id);

// "2026-12-04T15:36:56.123Z".
std::string IsoTime(double unix_seconds);

class FakeApi {
 public:
  // Without credentials, every request is answered; with them, only those that send this
  // X-API-ID and X-API-KEY (any other gets a 401 and is counted in Refused()).
  FakeApi();
  FakeApi(std::string api_id, std::string api_key);
  ~FakeApi();
  FakeApi(const FakeApi&) = delete;
  FakeApi& operator=(const FakeApi&) = delete;

  int port() const { return port_; }

  // Creates or replaces the job (served from now on).
  void Put(const ApiJob& job);
  // Answers served for the job: all of them, to every client; terminal ones, to the client that
  // sends this X-API-ID (each replica of a sharded run has its own).
  int Serves(const std::string& id) const;
  int TerminalServes(const std::string& id, const std::string& client) const;
  // Full poll cycles seen (remaining_credits requests).
  int Cycles() const;
  // Requests answered 401 for credentials other than this API's.
  int Refused() const;
  // The last requests served, one a line (for failure reports).
  std::string Recent() const;

 private:
  struct Entry {
    ApiJob job;
    int serves = 0;
    int terminal_serves = 0;
    std::map<std::string, int> terminal_serves_to;  // X-API-ID -> terminal answers
  };
  // The JSON of one answer for the job to `client`, counting it; called with mutex_ held.
  std::string Serve(Entry& entry, const std::string& client);
  // Notes a request; called with mutex_ held.
  void Note(const httplib::Request& req, int status);
  // False, with a 401 answered and noted, when the request's credentials are not this API's.
  bool Authorized(const httplib::Request& req, httplib::Response& res);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> jobs_;      // guarded by mutex_
  std::vector<std::string> aurora_order_;  // guarded by mutex_, creation order
  std::string api_id_;                     // empty: no credentials checked
  std::string api_key_;
  int cycles_ = 0;                  // guarded by mutex_
  int refused_ = 0;                 // guarded by mutex_
  std::deque<std::string> recent_;  // guarded by mutex_
};

}  // namespace checker

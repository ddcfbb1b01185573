// What the start-up steps build and the shut-down steps tear down, in one place. Owned by Run on
// the main thread; the members are themselves thread-safe where the server threads use them.
#pragma once

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/coalescer.h"
#include "app/flags.h"
#include "app/web_config_watch.h"
#include "collect/collector.h"
#include "config/config.h"
#include "persist/forward_queue.h"
#include "persist/state_file.h"
#include "persist/writer.h"
#include "poller/hints.h"
#include "poller/poller.h"
#include "poller/schedule.h"
#include "server/http_server.h"
#include "state/store.h"
#include "webconfig/web_config.h"
#include "webhook/receiver.h"

namespace app {

struct Context;
// One reload, now (Reload coalesces the calls into these).
std::string ReloadOnce(Context& ctx);

struct Context {
  Flags flags;
  config::Config config;
  // From --web.config.file; empty (no TLS, no users) without it.
  webconfig::WebConfig web_config;
  // The bytes web_config was loaded from (WebConfigFingerprint).
  std::string web_config_fingerprint;
  // SIGINT and SIGTERM stop, SIGHUP reloads; blocked in every thread and taken by sigwait.
  sigset_t stop_signals{};
  poller::Shard shard;
  // Unix time of this start: the store watches from it unless a restored state says earlier.
  double started_at = 0;
  // Null when persistence is off (no state path).
  std::unique_ptr<persist::StateFile> state_file;
  std::optional<state::RestoredState> restored;
  std::unique_ptr<state::Store> store;
  std::unique_ptr<collect::Publisher> publisher;
  // Jobs a webhook announced, to read at once; outlives the pollers (a reload replaces those).
  std::unique_ptr<poller::Hints> hints;
  // When the API may be asked (the last cycle's start, a 429's wait, the backoff), per workspace
  // ("" without workspaces: each workspace keeps its own 429s); outlives the pollers, so that a
  // reload never asks the API earlier than its predecessor would have.
  std::map<std::string, std::unique_ptr<poller::Schedule>> schedules;
  // The webhook calls to forward, stored in the state file (null without one, or without
  // forwarding). Before the forwarder: it outlives it.
  std::unique_ptr<persist::ForwardQueue> forward_queue;
  // With several shards and --shard.peer-url: hands webhook calls to the replica that owns
  // their job.
  std::unique_ptr<webhook::Forwarder> forwarder;
  std::unique_ptr<webhook::Receiver> webhook;
  // api.timeout at start-up: /-/ready answers 200 by then at the latest.
  std::chrono::milliseconds ready_within{0};
  // Makes overlapping reloads (SIGHUP on the main thread, POST /-/reload on server threads) one.
  Coalescer reloads{[this] { return ReloadOnce(*this); }};
  std::unique_ptr<server::HttpServer> server;
  // Applies changes of the web config's files to the server (null without a web config).
  std::unique_ptr<WebConfigWatcher> web_config_watcher;
  std::thread server_thread;
  // One per polled config (config::Config::Polled): per workspace, or one.
  std::vector<std::unique_ptr<poller::Poller>> pollers;
  // Destroyed first: it writes to state_file from store.
  std::unique_ptr<persist::Writer> state_writer;
};

// Each step returns false after logging one clear error; later steps are then skipped.
bool LimitMemoryArenas(Context& ctx);
bool BlockStopSignals(Context& ctx);
bool LoadConfiguration(Context& ctx);
bool LoadWebConfiguration(Context& ctx);
bool ResolveShard(Context& ctx);
bool OpenState(Context& ctx);
bool CreateStore(Context& ctx);
bool StartStateWriter(Context& ctx);
bool BindServer(Context& ctx);
// With a health socket path (HealthSocketPath): /-/healthy and /-/ready on it too.
bool BindHealthSocket(Context& ctx);
bool StartPoller(Context& ctx);
bool StartServing(Context& ctx);

// Blocks until SIGINT or SIGTERM, reloading on each SIGHUP.
void WaitForStopSignal(Context& ctx);

// Re-reads the config file and the ids and token files, and applies them: the kinds, ids,
// intervals, retention, credentials and API settings, the webhook token. Counters, histograms and
// tracked jobs stay, and so does the schedule (ctx.schedule): the new poller asks the API no
// earlier than the old one would have. An invalid config is rejected (the running one stays) and
// its one-line error returned; "" on success. Thread-safe: a reload that started after `asked`
// (the time the SIGHUP or the POST arrived) answers the call, one already over included; a call
// asked while a reload ran waits for the next one, which all such calls share (ctx.reloads).
std::string Reload(Context& ctx, Coalescer::Clock::time_point asked = Coalescer::Clock::now());

void StopServer(Context& ctx);
// After StopServer: no call is added any more. Without a state file, the calls waiting are sent
// for up to kForwardDrain; with one, they stay stored for the next start.
void StopForwarder(Context& ctx);
void StopPoller(Context& ctx);
// Writes the last state (after the poller stopped, so nothing is lost).
void StopStateWriter(Context& ctx);

// The largest webhook body read (the 64 KiB); a larger one gets 413 unread.
inline constexpr size_t kMaxWebhookBodyBytes = 64 << 10;
// POST /-/reload takes no body; a small one is tolerated and ignored.
inline constexpr size_t kMaxReloadBodyBytes = 4 << 10;

// "" when the config can run with these shards: with several shards, a webhook token needs
// --shard.peer-url (a call for another replica's job would be lost otherwise).
std::string ShardingError(const Flags& flags, const config::Config& config);

// Part of CreateStore, after the store is made: with several shards and --shard.peer-url, makes
// ctx.forwarder, on the state file when there is one (resuming the calls it holds).
void CreateForwarder(Context& ctx);
// How long a stop keeps sending the calls waiting in memory (no state file).
inline constexpr std::chrono::seconds kForwardDrain{5};

// Helpers shared by start-up and reload.
webhook::Settings WebhookSettings(const config::Config& config);
state::JobRenderer JobRenderer(const collect::RenderOptions& options);
state::BreakdownOptions BreakdownOf(const config::Config& config);
using Pollers = std::vector<std::unique_ptr<poller::Poller>>;
// A poller per polled config of `config` (each workspace), on ctx's store and each workspace's
// schedule (not started); throws std::system_error when their threads cannot start.
Pollers MakePollers(Context& ctx, const config::Config& config);
// Makes ctx.pollers for ctx.config (not started).
void CreatePollers(Context& ctx);
// Start may throw std::system_error.
void StartPollers(Pollers& pollers);
void StopPollers(Pollers& pollers);
// The pollers' StaticIds, by scoped kind.
std::map<std::string, std::vector<std::string>> StaticIds(const Pollers& pollers);
// The longest api.timeout of the polled configs.
std::chrono::milliseconds LongestTimeout(const config::Config& config);

// The state file's path; empty means no persistence.
std::string StatePath(const Context& ctx);

}  // namespace app

// creatify-simulator: serves the simulation model over HTTP until SIGINT or SIGTERM.
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log/log.h"
#include "simulator/faults.h"
#include "simulator/flags.h"
#include "simulator/model.h"
#include "simulator/webhooks.h"
#include "version.h"

namespace simulator {
namespace {

Time Now() { return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now()); }

// Lets a response that is waiting out --latency end early when the server stops, so that a
// signal never waits for the slowest pending response.
class StopSignal {
 public:
  // Waits for `duration`; returns early once Trigger was called.
  void Wait(Millis duration) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, duration, [&] { return stopped_; });
  }
  void Trigger() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
};

std::string HostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Written beside the target and renamed over it, so a reader never sees half a file.
bool WriteFileAtomically(const std::string& path, const std::string& text, std::string* error) {
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      *error = std::strerror(errno);
      return false;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    *error = std::strerror(errno);
    std::remove(temp.c_str());
    return false;
  }
  return true;
}

// Answers POST /sim/fault (set a fault) and GET /sim/fault (the current one and its hits).
void HandleFaultControl(FaultSwitch& faults, const httplib::Request& req, httplib::Response& res) {
  if (req.method == "POST") {
    Pairs query(req.params.begin(), req.params.end());
    const std::string error = faults.Set(query, req.body);
    res.status = error.empty() ? 200 : 400;
    res.set_content(error.empty() ? "ok\n" : error + "\n", "text/plain");
    if (error.empty()) logging::Info("Fault set", {{"query", req.target}});
    return;
  }
  res.set_content(faults.StateJson(), "application/json");
}

// Answers an /api/ request under a fault that replaces the model's answer; false when the fault
// only alters that answer (or holds it), which the caller then computes.
bool AnswerFault(FaultSwitch& faults, const Fault& fault, httplib::Response& res) {
  static const std::string kFiller(64 * 1024, ' ');
  switch (fault.mode) {
    case FaultMode::kStatus:
      res.status = fault.status;
      if (fault.retry_after) res.set_header("Retry-After", std::to_string(*fault.retry_after));
      res.set_content(R"({"detail":"simulated fault"})", "application/json");
      return true;
    case FaultMode::kBody:
      res.status = fault.status;
      res.set_content(fault.body, fault.content_type.c_str());
      return true;
    case FaultMode::kHang:
      faults.Hold(fault);
      return false;
    case FaultMode::kEndless:
      res.set_chunked_content_provider("application/json",
                                       [&faults, fault](std::size_t, httplib::DataSink& sink) {
                                         if (!faults.Current(fault)) return false;
                                         return sink.write(kFiller.data(), kFiller.size());
                                       });
      return true;
    case FaultMode::kOversize:
      res.set_content_provider(
          std::size_t{1} << 40, "application/json",
          [&faults, fault](std::size_t, std::size_t length, httplib::DataSink& sink) {
            if (!faults.Current(fault)) return false;
            return sink.write(kFiller.data(), std::min(length, kFiller.size()));
          });
      return true;
    default:
      return false;
  }
}

void Handle(Model& model, FaultSwitch& faults, const Flags& flags, StopSignal& stop,
            WebhookCaller& webhooks, const httplib::Request& req, httplib::Response& res) {
  try {
    if (req.path == "/sim/webhook-url" && req.method == "POST") {
      const bool ok = webhooks.SetUrl(req.body);
      res.status = ok ? 200 : 400;
      res.set_content(ok ? "ok\n" : "expected an http:// URL\n", "text/plain");
      return;
    }
    if (req.path == "/sim/fault") return HandleFaultControl(faults, req, res);
    std::optional<Fault> fault;
    if (req.path.rfind("/api/", 0) == 0) fault = faults.Match(req.path);
    if (fault && AnswerFault(faults, *fault, res)) return;

    Pairs query(req.params.begin(), req.params.end());
    Pairs headers(req.headers.begin(), req.headers.end());
    Response answer = model.Answer(req.method, req.path, query, headers, Now());
    if (answer.api && flags.latency > Millis(0)) stop.Wait(flags.latency);
    res.status = answer.status;
    std::string content_type = "application/json";
    for (const auto& [name, value] : answer.headers) {
      if (name == "Content-Type") {
        content_type = value;
      } else {
        res.set_header(name.c_str(), value);
      }
    }
    if (fault && fault->mode == FaultMode::kTruncate) answer.body.resize(answer.body.size() / 2);
    if (fault && fault->mode == FaultMode::kReset) {
      // The full length is announced, half the body is sent, and the connection is closed.
      const std::size_t size = answer.body.size();
      res.set_content_provider(
          size, content_type.c_str(),
          [body = std::move(answer.body)](std::size_t offset, std::size_t length,
                                          httplib::DataSink& sink) {
            const std::size_t half = body.size() / 2;
            if (offset >= half) return false;
            return sink.write(body.data() + offset, std::min(length, half - offset));
          });
    } else {
      res.set_content(answer.body, content_type.c_str());
    }
    if (logging::Enabled(logging::Level::kDebug)) {
      logging::Debug(
          "Request",
          {{"method", req.method}, {"path", req.path}, {"code", std::to_string(answer.status)}});
    }
  } catch (const std::exception& e) {
    res.status = 500;
    res.set_content(std::string("simulator error: ") + e.what(), "text/plain");
  }
}

// The plain server, or one that speaks TLS with --tls-cert-file and --tls-key-file.
std::unique_ptr<httplib::Server> MakeServer(const Flags& flags) {
  if (flags.tls_cert_file.empty()) return std::make_unique<httplib::Server>();
  auto server =
      std::make_unique<httplib::SSLServer>(flags.tls_cert_file.c_str(), flags.tls_key_file.c_str());
  if (!server->is_valid()) return nullptr;
  return server;
}

int Run(const Flags& flags) {
  logging::Configure(flags.log_level, flags.log_format);

  // Signals are taken by one thread with sigwait, where stopping the server is safe; every other
  // thread, the server's pool included, inherits this mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Model model(flags.model, Now());
  WebhookCaller webhooks(model, flags.webhooks);
  StopSignal stop;
  FaultSwitch faults;
  std::unique_ptr<httplib::Server> server_holder = MakeServer(flags);
  if (!server_holder) {
    logging::Error("Cannot load the TLS certificate and key",
                   {{"cert", flags.tls_cert_file}, {"key", flags.tls_key_file}});
    return 1;
  }
  httplib::Server& server = *server_holder;
  int threads = flags.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default adds SO_REUSEPORT, which lets a second simulator bind the same port and
  // steal half the connections: a port in use must be an error instead.
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  server.set_tcp_nodelay(true);
  // Like the real API behind its load balancer, a kept-alive connection serves many requests
  // (httplib's default closes it after 5); each holds a thread while it lives, so it does end.
  server.set_keep_alive_max_count(100);
  auto handler = [&](const httplib::Request& req, httplib::Response& res) {
    Handle(model, faults, flags, stop, webhooks, req, res);
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);

  int port = flags.listen_port;
  bool bound = port == 0 ? (port = server.bind_to_any_port(flags.listen_host)) > 0
                         : server.bind_to_port(flags.listen_host, port);
  if (!bound) {
    logging::Error("Cannot listen", {{"address", HostPort(flags.listen_host, flags.listen_port)}});
    return 1;
  }
  std::string address = HostPort(flags.listen_host, port);

  if (!flags.exporter_config_path.empty()) {
    std::string base_url = flags.exporter_base_url.empty() ? DefaultBaseUrl(flags.listen_host, port)
                                                           : flags.exporter_base_url;
    Time now = Now();
    std::string yaml =
        ExporterConfigYaml(base_url, flags.exporter_poll_interval, model.Ids(kAdsClone, now),
                           model.Ids(kCustomTemplate, now), flags.exporter_state_path);
    if (!flags.exporter_webhook_token.empty()) {
      yaml += "webhook:\n  token: \"" + flags.exporter_webhook_token + "\"\n";
    }
    std::string error;
    if (!WriteFileAtomically(flags.exporter_config_path, yaml, &error)) {
      logging::Error("Cannot write the exporter config",
                     {{"path", flags.exporter_config_path}, {"err", error}});
      return 1;
    }
    logging::Info("Wrote the exporter config",
                  {{"path", flags.exporter_config_path}, {"base_url", base_url}});
  }

  std::atomic<bool> listen_returned{false};
  std::atomic<bool> signalled{false};
  std::thread signal_thread([&] {
    int number = 0;
    sigwait(&signals, &number);
    if (listen_returned.load()) return;
    signalled.store(true);
    logging::Info("Stopping", {{"signal", number == SIGINT ? "SIGINT" : "SIGTERM"}});
    stop.Trigger();
    faults.Shutdown();
    // stop() does nothing until listen_after_bind has started running: repeat until it returns.
    while (!listen_returned.load()) {
      server.stop();
      std::this_thread::sleep_for(Millis(10));
    }
  });

  logging::Info("Listening", {{"address", address}});
  server.listen_after_bind();
  listen_returned.store(true);
  // Wakes the signal thread's sigwait (SIGTERM is blocked there): it returns, nothing is killed.
  if (!signalled.load()) {
    // NOLINTNEXTLINE(bugprone-bad-signal-to-kill-thread)
    pthread_kill(signal_thread.native_handle(), SIGTERM);
  }
  signal_thread.join();
  if (!signalled.load()) {
    logging::Error("The server stopped unexpectedly", {{"address", address}});
    return 1;
  }
  logging::Info("Stopped");
  return 0;
}

}  // namespace
}  // namespace simulator

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  auto flags = simulator::ParseFlags(args, &error);
  if (!flags) {
    std::fprintf(stderr, "creatify-simulator: %s\n", error.c_str());
    return 2;
  }
  if (flags->help) {
    std::fputs(simulator::HelpText().c_str(), stdout);
    return 0;
  }
  if (flags->version) {
    std::printf("creatify-simulator %s (revision %s)\n", creatify_exporter::kVersion,
                creatify_exporter::kRevision);
    return 0;
  }
  return simulator::Run(*flags);
}

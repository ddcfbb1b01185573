#include "server/event_loop.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "server/connection.h"
#include "server/local_socket.h"

namespace server {
namespace {

// How long answers under way may take to finish once the server stops.
constexpr auto kStopGrace = std::chrono::seconds(2);
// How often deadlines are checked.
constexpr auto kSweepInterval = std::chrono::milliseconds(250);
constexpr size_t kMaxConnections = 4096;
constexpr uint64_t kListenTag = 0;
constexpr uint64_t kWakeTag = 1;
// Connections are numbered from 2 upwards: they never reach it.
constexpr uint64_t kLocalTag = ~uint64_t{0};

// The client's address without its port: password checks take turns per address.
std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = "";
  if (peer.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr, text, sizeof(text));
  } else if (peer.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

}  // namespace

size_t ConnectionLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return kMaxConnections;
  }
  size_t available = limit.rlim_cur > 128 ? static_cast<size_t>(limit.rlim_cur) - 64 : 64;
  return std::min(kMaxConnections, available);
}

namespace {

class EventLoop {
 public:
  explicit EventLoop(const EventLoopOptions& options)
      : options_(options),
        listen_fd_(options.listen_fd),
        local_fd_(options.local_fd),
        limit_(options.max_connections) {
    read_buffer_.resize(64 * 1024);
    context_.routes = options.routes;
    context_.security = options.security;
    context_.public_prefixes = options.public_prefixes;
    context_.handlers = options.handlers;
    context_.auth_queue = options.auth_queue;
    context_.read_buffer = read_buffer_.data();
    context_.read_buffer_size = read_buffer_.size();
    context_.post = [this](uint64_t id, std::function<void(Connection&)> apply) {
      {
        std::lock_guard lock(completions_mutex_);
        completions_.emplace_back(id, std::move(apply));
      }
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(options_.wake_fd, &one, sizeof(one));
    };
    // A spare descriptor: when the process runs out, it is freed to accept and close a client
    // rather than leave it spinning in the backlog.
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (local_fd_ >= 0) local_context_ = LocalContext(context_, options.local_routes);
  }

  ~EventLoop() {
    // Answers still to come from the server's threads find no connection and are dropped.
    connections_.clear();
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (spare_fd_ >= 0) close(spare_fd_);
  }

  void Run(const std::atomic<bool>& stop) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return;
    // Exclusive: a new connection wakes one of the loops, not all.
    Watch(listen_fd_, EPOLLIN | EPOLLEXCLUSIVE, kListenTag);
    Watch(options_.wake_fd, EPOLLIN, kWakeTag);
    if (local_fd_ >= 0) Watch(local_fd_, EPOLLIN, kLocalTag);
    if (options_.balancer != nullptr) options_.balancer->Running(options_.loop, true);
    Clock::time_point next_sweep = Clock::now() + kSweepInterval;
    std::optional<Clock::time_point> stop_deadline;
    epoll_event events[256];
    for (;;) {
      int timeout_ms = stop_deadline ? 50 : static_cast<int>(kSweepInterval.count());
      // Connections that stopped at their turn's limit go on at once, after the others.
      if (!yielded_.empty()) timeout_ms = 0;
      int count = epoll_wait(epoll_fd_, events, 256, timeout_ms);
      if (count < 0 && errno != EINTR) break;
      Clock::time_point now = Clock::now();
      for (int i = 0; i < count; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kListenTag) {
          Accept(listen_fd_, context_, now);
        } else if (tag == kLocalTag) {
          Accept(local_fd_, local_context_, now);
        } else if (tag == kWakeTag) {
          uint64_t value = 0;
          [[maybe_unused]] ssize_t n = read(options_.wake_fd, &value, sizeof(value));
          AdoptHandedOver(now);
          ApplyCompletions(now);
        } else {
          OnEvent(tag, events[i].events, now);
        }
      }
      ContinueYielded(now);
      if (stop.load() && !stop_deadline) {
        stop_deadline = now + kStopGrace;
        BeginStop();
      }
      if (now >= next_sweep) {
        CloseExpired(now);
        next_sweep = now + kSweepInterval;
      }
      if (options_.balancer != nullptr) options_.balancer->Held(options_.loop, connections_.size());
      if (stop_deadline && (connections_.empty() || now >= *stop_deadline)) break;
    }
    // Sockets handed over after the stop began are closed unanswered, as a backlog's are.
    if (options_.balancer != nullptr) {
      options_.balancer->Running(options_.loop, false);
      for (const auto& handoff : options_.balancer->Take(options_.loop)) close(handoff.fd);
    }
  }

 private:
  void Watch(int fd, uint32_t events, uint64_t tag) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = tag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event);
  }

  // `context`: context_ for the TCP listener, local_context_ for the health socket.
  void Accept(int listen_fd, ServerContext& context, Clock::time_point now) {
    const bool local = &context == &local_context_;
    // A bounded batch, so that a flood of connections does not starve the others.
    for (int i = 0; i < 64 && listen_fd >= 0; ++i) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof(peer);
      int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
          close(spare_fd_);
          int refused = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (refused >= 0) close(refused);
          spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        return;
      }
      // A loop that holds more than another hands the connection over.
      if (!local && options_.balancer != nullptr && !stopping_) {
        const size_t target = options_.balancer->Pick(options_.loop);
        if (target != options_.loop) {
          options_.balancer->Hand(target, Balancer::Handoff{.fd = fd, .peer = peer});
          continue;
        }
        // Counted at once, so that the next connection of a burst sees it.
        options_.balancer->Held(options_.loop, connections_.size() + 1);
      }
      Adopt(fd, peer, context, now);
    }
  }

  // Serves a socket this loop accepted, or another handed over.
  void Adopt(int fd, const sockaddr_storage& peer, ServerContext& context, Clock::time_point now) {
    const bool local = &context == &local_context_;
    if (connections_.size() >= limit_ && !EvictOne()) {
      close(fd);
      return;
    }
    int yes = 1;
    if (!local) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    // The TLS of this moment: a renewed certificate serves the connections accepted from now on.
    const auto security = context.security->Get();
    auto transport = security->tls ? security->tls->NewTransport(fd) : NewPlainTransport(fd);
    if (!transport) {
      close(fd);
      return;
    }
    uint64_t id = next_id_++;
    auto connection =
        std::make_unique<Connection>(id, fd, std::move(transport), context, now, PeerAddress(peer));
    connections_.emplace(id, std::move(connection));
    // Edge-triggered: a connection reads and writes until the socket says EAGAIN.
    Watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, id);
    Drive(connections_.find(id), now);
  }

  void AdoptHandedOver(Clock::time_point now) {
    if (options_.balancer == nullptr) return;
    for (const auto& handoff : options_.balancer->Take(options_.loop)) {
      if (stopping_) {
        close(handoff.fd);
        continue;
      }
      Adopt(handoff.fd, handoff.peer, context_, now);
    }
  }

  // Closes the connection that has waited longest for a request (idle, or trickling its head).
  bool EvictOne() {
    auto oldest = connections_.end();
    for (auto it = connections_.begin(); it != connections_.end(); ++it) {
      if (!it->second->evictable()) continue;
      if (oldest == connections_.end() ||
          it->second->phase_start() < oldest->second->phase_start()) {
        oldest = it;
      }
    }
    if (oldest == connections_.end()) return false;
    connections_.erase(oldest);
    return true;
  }

  // Drives the connection; closes it when it is done, or remembers it when it yielded.
  void Drive(std::unordered_map<uint64_t, std::unique_ptr<Connection>>::iterator it,
             Clock::time_point now) {
    if (!it->second->Drive(now)) {
      connections_.erase(it);
    } else if (it->second->yielded()) {
      yielded_.insert(it->first);
    }
  }

  void OnEvent(uint64_t id, uint32_t events, Clock::time_point now) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    if ((events & (EPOLLERR | EPOLLHUP)) != 0) {
      connections_.erase(it);
      return;
    }
    Drive(it, now);
  }

  // Gives each connection that yielded its next turn: one turn each, round after round.
  void ContinueYielded(Clock::time_point now) {
    std::unordered_set<uint64_t> turn;
    turn.swap(yielded_);
    for (uint64_t id : turn) {
      auto it = connections_.find(id);
      // Driven by an event meanwhile, and done with its answers.
      if (it == connections_.end() || !it->second->yielded()) continue;
      Drive(it, now);
    }
  }

  void ApplyCompletions(Clock::time_point now) {
    std::vector<std::pair<uint64_t, std::function<void(Connection&)>>> ready;
    {
      std::lock_guard lock(completions_mutex_);
      ready.swap(completions_);
    }
    for (auto& [id, apply] : ready) {
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      apply(*it->second);
      Drive(it, now);
    }
  }

  void BeginStop() {
    stopping_ = true;
    if (listen_fd_ >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
      listen_fd_ = -1;
    }
    if (local_fd_ >= 0) {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, local_fd_, nullptr);
      local_fd_ = -1;
    }
    for (auto it = connections_.begin(); it != connections_.end();) {
      it = it->second->BeginStop() ? std::next(it) : connections_.erase(it);
    }
  }

  void CloseExpired(Clock::time_point now) {
    std::vector<uint64_t> answered;
    std::erase_if(connections_, [&](const auto& entry) {
      if (entry.second->deadline() > now) return false;
      // A connection that answers its deadline (a request whose check did not start in time)
      // stays to send that answer.
      if (!entry.second->Expire(now)) return true;
      answered.push_back(entry.first);
      return false;
    });
    for (uint64_t id : answered) {
      auto it = connections_.find(id);
      if (it != connections_.end()) Drive(it, now);
    }
  }

  EventLoopOptions options_;
  int listen_fd_;
  int local_fd_;
  size_t limit_;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;
  uint64_t next_id_ = 2;
  bool stopping_ = false;
  std::vector<char> read_buffer_;
  ServerContext context_;
  // For the health socket's connections (LocalContext of context_).
  ServerContext local_context_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  // Connections whose last Drive stopped at kWriteTurnBytes (Connection::yielded).
  std::unordered_set<uint64_t> yielded_;
  std::mutex completions_mutex_;
  // guarded by completions_mutex_
  std::vector<std::pair<uint64_t, std::function<void(Connection&)>>> completions_;
};

}  // namespace

void RunEventLoop(const EventLoopOptions& options, const std::atomic<bool>& stop) {
  EventLoop loop(options);
  loop.Run(stop);
}

}  // namespace server

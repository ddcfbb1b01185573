// Spreads the accepted connections over the event loops. Whichever loop the kernel wakes for a
// new connection accepts it; when another loop holds fewer connections, the accepting loop hands
// the socket to that loop (a queue and a wake-up of its own), which then serves it as if it had
// accepted it. The loops' counts are published by each loop after every turn of its epoll loop,
// and a hand-over counts for its receiver at once, so that a burst of connections spreads.
//
// Thread-safe: each loop calls Pick, Hand and Held for itself and Take for its own queue.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace server {

class Balancer {
 public:
  // A socket handed over, with its peer's address.
  struct Handoff {
    int fd = -1;
    sockaddr_storage peer{};
  };

  // One slot per loop, each woken through its eventfd.
  explicit Balancer(const std::vector<int>& wake_fds);
  ~Balancer();
  Balancer(const Balancer&) = delete;
  Balancer& operator=(const Balancer&) = delete;

  // The loop that should serve a connection `self` just accepted: the one that holds the fewest,
  // `self` when it is one of them.
  size_t Pick(size_t self) const;
  // Queues the socket for `loop`, counts it for that loop now, and wakes it.
  void Hand(size_t loop, const Handoff& handoff);
  // The sockets handed to `loop` since its last Take.
  std::vector<Handoff> Take(size_t loop);
  // The connections `loop` holds now.
  void Held(size_t loop, size_t connections);
  // A loop takes connections only while it runs (a loop whose thread did not start never does).
  void Running(size_t loop, bool running);
  // What each loop holds, as last published (tests).
  std::vector<size_t> Counts() const;

 private:
  struct Slot {
    std::atomic<size_t> held{0};
    std::atomic<bool> running{false};
    int wake_fd = -1;
    std::mutex mutex;
    std::vector<Handoff> queue;  // guarded by mutex
  };
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace server

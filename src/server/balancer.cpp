#include "server/balancer.h"

#include <unistd.h>

namespace server {

Balancer::Balancer(const std::vector<int>& wake_fds) {
  for (int fd : wake_fds) {
    slots_.push_back(std::make_unique<Slot>());
    slots_.back()->wake_fd = fd;
  }
}

Balancer::~Balancer() {
  // Sockets handed over but never taken (the loops stopped first) are closed.
  for (auto& slot : slots_) {
    for (const Handoff& handoff : slot->queue) close(handoff.fd);
  }
}

size_t Balancer::Pick(size_t self) const {
  size_t best = self;
  size_t fewest = slots_[self]->held.load(std::memory_order_relaxed);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]->running.load(std::memory_order_acquire)) continue;
    const size_t held = slots_[i]->held.load(std::memory_order_relaxed);
    if (held < fewest) {
      best = i;
      fewest = held;
    }
  }
  return best;
}

void Balancer::Hand(size_t loop, const Handoff& handoff) {
  Slot& slot = *slots_[loop];
  slot.held.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(slot.mutex);
    slot.queue.push_back(handoff);
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(slot.wake_fd, &one, sizeof(one));
}

std::vector<Balancer::Handoff> Balancer::Take(size_t loop) {
  std::vector<Handoff> taken;
  Slot& slot = *slots_[loop];
  std::lock_guard lock(slot.mutex);
  taken.swap(slot.queue);
  return taken;
}

void Balancer::Running(size_t loop, bool running) {
  slots_[loop]->running.store(running, std::memory_order_release);
}

void Balancer::Held(size_t loop, size_t connections) {
  slots_[loop]->held.store(connections, std::memory_order_relaxed);
}

std::vector<size_t> Balancer::Counts() const {
  std::vector<size_t> counts;
  for (const auto& slot : slots_) counts.push_back(slot->held.load(std::memory_order_relaxed));
  return counts;
}

}  // namespace server

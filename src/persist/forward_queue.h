// Webhook calls waiting to be handed to the replica that owns their job, kept where they survive
// the process: a call is stored before the receiver answers 202, and deleted once it ended
// (delivered, refused or expired). ForwardQueue is the interface the webhook::Forwarder uses;
// OpenForwardQueue gives the one implementation, a `forward_calls` table in the SQLite state
// file, on a connection of its own (the state file's reader ignores the table).
//
// The token is never stored: it is read when a call is sent, so a rotated token applies to the
// calls already waiting.
//
// Thread-safety: implementations are thread-safe (the receiver's threads add, each peer's sender
// removes). sqlite3 stays inside forward_queue.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace persist {

struct QueuedCall {
  // Assigned by Add: the order of receipt, across restarts.
  int64_t seq = 0;
  // The replica that owns the job.
  int shard = 0;
  std::string kind;
  // The body as received.
  std::string body;
  // Unix time the call was first received: patience counts from it, across restarts.
  double received_at = 0;
};

class ForwardQueue {
 public:
  virtual ~ForwardQueue() = default;

  // Stores `call` durably and sets its seq; false with a one-line *error when it was not stored.
  virtual bool Add(QueuedCall* call, std::string* error) = 0;
  // Deletes the call `seq` (a call already gone is not an error).
  virtual bool Remove(int64_t seq, std::string* error) = 0;
  // Every stored call, in order of seq.
  virtual bool Load(std::vector<QueuedCall>* calls, std::string* error) = 0;
};

// The `forward_calls` table of the state file at `path`, which must exist (StateFile::Open made
// or restored it); the table is created if missing, so an older file takes it as it is. nullptr
// with *error when the file cannot be opened or the table made.
std::unique_ptr<ForwardQueue> OpenForwardQueue(const std::string& path, std::string* error);

}  // namespace persist

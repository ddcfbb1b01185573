// The checker's randomized driver: from a seed, a short sequence of operations on a scripted
// API and on the real creatify-exporter (jobs created and moving, bad fields, webhooks, ids
// files, SIGKILL at random moments, clean restarts, reloads that switch kinds and change
// limits, a full state disk, two replicas of two shards, two workspaces taken out and brought
// back), with /metrics compared to the reference model at every quiet point and every counter
// checked never to go down. The same seed replays the same operations.
//
// RunSequence may be called from several threads at once (each sequence has its own API,
// exporter and temporary directory).
#pragma once

#include <cstdint>
#include <string>

namespace checker {

struct SequenceResult {
  uint64_t seed = 0;
  bool ok = true;
  int operations = 0;
  // On failure: the seed, the profile, the operations, the model/exporter diff and the tail of
  // the exporter's log.
  std::string report;
};

// Runs the sequence of `seed` against `binary` (the creatify-exporter executable).
SequenceResult RunSequence(uint64_t seed, const std::string& binary);

}  // namespace checker

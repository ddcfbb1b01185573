// A forward queue whose writes fail, as on a full disk: for the webhook tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "persist/forward_queue.h"

namespace webhook_test {

class BrokenQueue : public persist::ForwardQueue {
 public:
  bool Add(persist::QueuedCall*, std::string* error) override {
    *error = "disk I/O error";
    return false;
  }
  bool Remove(int64_t, std::string*) override { return true; }
  bool Load(std::vector<persist::QueuedCall>*, std::string*) override { return true; }
};

}  // namespace webhook_test

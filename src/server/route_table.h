// The server's routes: handlers by method and path. Filled before serving, read-only after, so
// safe to read from any thread while serving.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "server/http_server.h"

namespace server {

struct PostRoute {
  std::string path;
  size_t max_body_bytes = 0;
  Handler handler;
  // When set and false, the route does not exist for now (404 for every method).
  std::function<bool()> exists;
};

class RouteTable {
 public:
  void AddGet(const std::string& path, Handler handler);
  void AddPost(const std::string& path, size_t max_body_bytes, Handler handler,
               std::function<bool()> exists = nullptr);

  // The GET (and HEAD) handler of `path`, or nullptr.
  const Handler* FindGet(const std::string& path) const;
  // The POST route of `path` (an exact one first, then the longest prefix ending in '/').
  const PostRoute* FindPost(const std::string& path) const;
  // The Allow header for `path`: "GET, HEAD", "POST" or both; empty for an unknown path.
  std::string Allow(const std::string& path) const;

 private:
  std::map<std::string, Handler> get_;
  std::vector<PostRoute> post_;
};

}  // namespace server

#include "server/route_table.h"

namespace server {

void RouteTable::AddGet(const std::string& path, Handler handler) {
  get_[path] = std::move(handler);
}

void RouteTable::AddPost(const std::string& path, size_t max_body_bytes, Handler handler,
                         std::function<bool()> exists) {
  post_.push_back({path, max_body_bytes, std::move(handler), std::move(exists)});
}

const Handler* RouteTable::FindGet(const std::string& path) const {
  auto it = get_.find(path);
  return it == get_.end() ? nullptr : &it->second;
}

const PostRoute* RouteTable::FindPost(const std::string& path) const {
  const PostRoute* best = nullptr;
  for (const auto& route : post_) {
    if (route.exists && !route.exists()) continue;
    if (route.path == path) return &route;
    bool prefix = !route.path.empty() && route.path.back() == '/' &&
                  path.size() > route.path.size() && path.starts_with(route.path);
    if (prefix && (best == nullptr || route.path.size() > best->path.size())) best = &route;
  }
  return best;
}

std::string RouteTable::Allow(const std::string& path) const {
  bool get = FindGet(path) != nullptr;
  bool post = FindPost(path) != nullptr;
  if (get && post) return "GET, HEAD, POST";
  if (get) return "GET, HEAD";
  return post ? "POST" : "";
}

}  // namespace server

#include "server/local_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace server {
namespace {

// Whether a process accepts connections on the socket file at `address` now.
bool SomeoneListens(const sockaddr_un& address) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool listens = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return listens;
}

// No TLS and an empty authorizer: every request on the health socket is let through.
const SecuritySlot& NoSecurity() {
  static const SecuritySlot* const kNone = new SecuritySlot();
  return *kNone;
}

}  // namespace

int ListenLocal(const std::string& path, std::string* error) {
  const std::string prefix = "cannot listen on " + path + ": ";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(address.sun_path)) {
    *error = prefix + "a socket path must be 1 to " + std::to_string(sizeof(address.sun_path) - 1) +
             " bytes long";
    return -1;
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) {
      *error = prefix + "the path exists and is not a socket";
      return -1;
    }
    // Two exporters never share one socket: the second would answer for the first.
    if (SomeoneListens(address)) {
      *error = prefix + "another process listens on it";
      return -1;
    }
    // Left by a run that did not stop cleanly.
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      *error = prefix + "cannot remove the old socket file: " + std::strerror(errno);
      return -1;
    }
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = prefix + std::strerror(errno);
    return -1;
  }
  // The file is made with the process' umask; chmod then sets 0660 exactly.
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    *error = prefix + std::strerror(errno);
    close(fd);
    return -1;
  }
  if (chmod(path.c_str(), 0660) != 0 || listen(fd, SOMAXCONN) != 0) {
    *error = prefix + std::strerror(errno);
    close(fd);
    unlink(path.c_str());
    return -1;
  }
  return fd;
}

void CloseLocal(int fd, const std::string& path) {
  if (fd < 0) return;
  unlink(path.c_str());
  close(fd);
}

RouteTable LocalRoutes(const RouteTable& routes, const std::vector<std::string>& paths) {
  RouteTable local;
  for (const std::string& path : paths) {
    if (const Handler* handler = routes.FindGet(path)) local.AddGet(path, *handler);
  }
  return local;
}

ServerContext LocalContext(const ServerContext& context, const RouteTable* routes) {
  ServerContext local = context;
  local.routes = routes;
  local.security = &NoSecurity();
  local.public_prefixes.clear();
  return local;
}

}  // namespace server

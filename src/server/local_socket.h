// The health socket: a Unix-domain stream socket on which the server answers only its health
// endpoints, in plain HTTP and without asking for credentials, whatever TLS and basic auth the
// web config turns on for TCP. Only processes that can open the file (its owner and group:
// mode 0660) reach it, which is what lets `creatify-exporter --web.health-check` check the
// exporter it runs beside. The functions are thread-safe.
#pragma once

#include <string>
#include <vector>

#include "server/connection.h"
#include "server/route_table.h"

namespace server {

// A non-blocking listening socket bound at `path`, mode 0660. A socket file left by a previous
// run (nothing listens on it) is replaced; a socket another process listens on, or a file of
// another type, is refused. -1 and *error ("cannot listen on PATH: ...") on failure.
int ListenLocal(const std::string& path, std::string* error);

// Removes the socket file of a listening socket made by ListenLocal, and closes it.
void CloseLocal(int fd, const std::string& path);

// The routes of the health socket: the GET handlers of `paths` in `routes` (a path `routes` does
// not have is left out, and so answered 404).
RouteTable LocalRoutes(const RouteTable& routes, const std::vector<std::string>& paths);

// What connections on the health socket share: `context` with only `routes`, no TLS and no
// authorizer.
ServerContext LocalContext(const ServerContext& context, const RouteTable* routes);

}  // namespace server

#include "creatify/client.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

#include "creatify/base_url.h"
#include "creatify/huge_pages.h"
#include "creatify/parse.h"
#include "text/strings.h"

namespace creatify {
namespace {

// The value of a short run of digits (callers check AllDigits and the length first).
int SmallNumber(std::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

int MonthNumber(std::string_view name) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (kMonths[i] == name) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool AllAlpha(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// The three HTTP-date forms of RFC 9110 section 5.6.7, to Unix seconds:
//   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
//   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
//   asctime      "Sun Nov  6 08:49:37 1994"
std::optional<double> ParseHttpDate(std::string_view text) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ' ' || text[i] == ',' || text[i] == '-') {
      if (i > start) tokens.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  std::string_view day, month, year, time;
  if (tokens.size() == 6 && tokens[5] == "GMT") {
    day = tokens[1];
    month = tokens[2];
    year = tokens[3];
    time = tokens[4];
  } else if (tokens.size() == 5) {
    month = tokens[1];
    day = tokens[2];
    time = tokens[3];
    year = tokens[4];
  } else {
    return std::nullopt;
  }
  if (!AllAlpha(tokens[0]) || !text::AllDigits(day) || day.size() > 2 || !text::AllDigits(year) ||
      (year.size() != 4 && year.size() != 2)) {
    return std::nullopt;
  }
  const int month_number = MonthNumber(month);
  if (month_number == 0) return std::nullopt;
  int year_number = SmallNumber(year);
  // RFC 850's two-digit years: RFC 9110 reads far-future ones as the past century.
  if (year.size() == 2) year_number += year_number < 70 ? 2000 : 1900;
  const int day_number = SmallNumber(day);

  char iso[32];
  std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT", year_number, month_number, day_number);
  return ParseTimestamp(std::string(iso) + std::string(time) + "Z");
}

// The `code` label for a request that got no HTTP answer.
std::string ErrorCode(httplib::Error error, double elapsed_seconds, double timeout_seconds) {
  switch (error) {
    case httplib::Error::ConnectionTimeout:
      return "timeout";
    case httplib::Error::Read:
      // httplib reports a read that timed out as a plain read error; the clock tells them apart.
      return elapsed_seconds >= timeout_seconds ? "timeout" : "read";
    case httplib::Error::Connection:
      return "connect";
    case httplib::Error::Write:
      return "write";
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return "tls";
    default:
      return "error";
  }
}

}  // namespace

std::optional<double> ParseRetryAfter(std::string_view value,
                                      std::chrono::system_clock::time_point now) {
  value = text::Trim(value);
  if (text::AllDigits(value)) {
    double seconds = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(seconds)) {
      return std::nullopt;
    }
    return seconds;
  }
  const auto when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  const double now_seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  return std::max(0.0, *when - now_seconds);
}

struct Client::Impl {
  ClientOptions options;
  BaseUrl base;
  std::unique_ptr<httplib::Client> http;
  // Set when the httplib client could not be made; reported on every request.
  std::string setup_error;

  std::mutex cancel_mutex;
  bool cancelled = false;  // guarded by cancel_mutex
  // The socket of the connection being made, from the moment it exists until the request ends:
  // httplib's stop() cannot reach a socket that is still connecting, shutdown() can. Guarded by
  // cancel_mutex.
  int connecting_socket = -1;

  Response Get(const std::string& path_and_query);
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  const std::string why = ParseBaseUrl(impl_->options.base_url, &impl_->base);
  if (!why.empty()) {
    impl_->setup_error = "invalid base_url: " + why;
    return;
  }
  try {
    auto http = std::make_unique<httplib::Client>(impl_->base.scheme_host_port);
    if (!http->is_valid()) {
      impl_->setup_error = "base_url is not usable by the HTTP client";
      return;
    }
    http->set_keep_alive(true);
    // Requests are small writes on a kept-alive connection: without this, Nagle's algorithm and
    // delayed ACKs add tens of milliseconds to a request.
    http->set_tcp_nodelay(true);
    // A redirect would carry X-API-KEY to whatever host the Location names.
    http->set_follow_location(false);
    http->set_connection_timeout(impl_->options.timeout);
    http->set_read_timeout(impl_->options.timeout);
    http->set_write_timeout(impl_->options.timeout);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    http->enable_server_certificate_verification(true);
    if (!impl_->options.ca_file.empty()) http->set_ca_cert_path(impl_->options.ca_file);
#endif
    // Called on every new socket before it connects (httplib sets no client options of its own).
    http->set_socket_options([impl = impl_.get()](int socket) {
      std::lock_guard<std::mutex> lock(impl->cancel_mutex);
      impl->connecting_socket = socket;
      if (impl->cancelled) shutdown(socket, SHUT_RDWR);
    });
    impl_->http = std::move(http);
  } catch (const std::exception& e) {
    impl_->setup_error = std::string("cannot create HTTP client: ") + e.what();
  } catch (...) {
    impl_->setup_error = "cannot create HTTP client";
  }
}

Client::~Client() = default;

void Client::Cancel() {
  {
    std::lock_guard<std::mutex> lock(impl_->cancel_mutex);
    impl_->cancelled = true;
    // On Linux, shutdown() of a socket in the middle of a non-blocking connect aborts the
    // connect and wakes the poll() that waits for it. The socket is only known between the
    // option callback and the end of Get, under this lock, and Get clears it before it returns.
    if (impl_->connecting_socket >= 0) shutdown(impl_->connecting_socket, SHUT_RDWR);
  }
  // Outside cancel_mutex: httplib calls the option callback (which takes cancel_mutex) while it
  // holds its own socket lock, which stop() takes too.
  if (impl_->http) impl_->http->stop();
}

Response Client::Get(const std::string& path_and_query) {
  const auto start = std::chrono::steady_clock::now();
  Response response;
  try {
    response = impl_->Get(path_and_query);
  } catch (const std::exception& e) {
    response = Response{};
    response.code = "error";
    response.error = std::string("unexpected error: ") + e.what();
  } catch (...) {
    response = Response{};
    response.code = "error";
    response.error = "unexpected error";
  }
  response.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return response;
}

Response Client::Impl::Get(const std::string& path_and_query) {
  Response out;
  if (!http) {
    out.code = "error";
    out.error = setup_error;
    return out;
  }
  {
    std::lock_guard<std::mutex> lock(cancel_mutex);
    if (cancelled) {
      out.code = "error";
      out.error = "cancelled: the exporter is stopping";
      return out;
    }
  }

  httplib::Headers headers = {
      {"X-API-ID", options.api_id},
      {"X-API-KEY", options.api_key},
      {"Accept", "application/json"},
  };
  if (!options.user_agent.empty()) headers.emplace("User-Agent", options.user_agent);

  std::string body;
  bool too_large = false;
  std::optional<std::string> retry_after;
  const auto on_response = [&](const httplib::Response& head) {
    if (head.has_header("Retry-After")) retry_after = head.get_header_value("Retry-After");
    // Refuse early when the server announces the size; a compressed length above the limit
    // means a larger body still.
    if (head.has_header("Content-Length")) {
      const std::string length = head.get_header_value("Content-Length");
      std::uint64_t declared = 0;
      const auto [ptr, ec] =
          std::from_chars(length.data(), length.data() + length.size(), declared);
      if (ec == std::errc() && ptr == length.data() + length.size() &&
          declared > options.max_body_bytes) {
        too_large = true;
        return false;
      }
      // A large listing is read into one buffer rather than copied at every doubling.
      if (ec == std::errc() && !head.has_header("Content-Encoding")) {
        body.reserve(declared);
        AdviseHugePages(body.data(), body.capacity());
      }
    }
    return true;
  };
  const auto on_data = [&](const char* data, std::size_t size) {
    if (size > options.max_body_bytes - body.size()) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  };

  const auto start = std::chrono::steady_clock::now();
  httplib::Result result =
      http->Get(base.path_prefix + path_and_query, headers, on_response, on_data);
  bool was_cancelled = false;
  {
    std::lock_guard<std::mutex> lock(cancel_mutex);
    connecting_socket = -1;
    was_cancelled = cancelled;
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (retry_after) {
    out.retry_after_seconds = ParseRetryAfter(*retry_after, std::chrono::system_clock::now());
  }
  if (too_large) {
    out.code = "error";
    out.error = "response body larger than api.max_body_bytes (" +
                std::to_string(options.max_body_bytes) + " bytes)";
    return out;
  }
  if (result) {
    out.status = result->status;
    out.code = std::to_string(result->status);
    out.body = std::move(body);
    return out;
  }
  const double timeout = std::chrono::duration<double>(options.timeout).count();
  out.code = was_cancelled ? "error" : ErrorCode(result.error(), elapsed, timeout);
  out.error =
      was_cancelled ? "cancelled: the exporter is stopping" : httplib::to_string(result.error());
  return out;
}

}  // namespace creatify

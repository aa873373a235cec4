// libFuzzer target: whatever bytes a peer sends on a connection go through the server's request
// parsing, limits and handler boundary (http::ServeBytes, the same steps as a socket session) and
// get answers, never a crash, a hang or a request beyond the limits. The handler echoes what it
// got; "/throw" throws and "/drop" drops, so the 500 and drop paths are reached too. Small limits
// so that the fuzzer reaches them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "http/server.hpp"

using namespace kisgate;

namespace {

http::ServerOptions Options() {
  http::ServerOptions o;
  o.max_header_bytes = 1024;
  o.max_body_bytes = 4096;
  return o;
}

boost::asio::awaitable<http::Reply> Echo(http::Request request) {
  static const auto options = Options();
  if (request.body.size() > options.max_body_bytes) std::abort();  // a limit did not hold
  std::size_t header_bytes = request.method.size() + request.target.size();
  for (const auto& [name, value] : request.headers) header_bytes += name.size() + value.size();
  if (header_bytes > options.max_header_bytes) std::abort();
  if (request.Path() == "/throw") throw std::runtime_error("handler failure");
  http::Reply reply;
  if (request.Path() == "/drop") {
    reply.drop_connection = true;
    co_return reply;
  }
  reply.response.SetHeader("content-type", "text/plain");
  reply.response.body = request.method + " " + std::string(request.Path()) + " " + request.body;
  co_return reply;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto options = Options();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto out = http::ServeBytes(options, Echo, input);
  // Whatever was written back is whole HTTP/1.1 responses.
  if (!out.empty() && out.rfind("HTTP/1.1 ", 0) != 0 && out.rfind("HTTP/1.0 ", 0) != 0)
    std::abort();
  return 0;
}

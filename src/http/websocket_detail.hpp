#pragma once
// Between server.cpp and websocket.cpp: the server hands an upgraded connection over to the
// WebSocket implementation, so that Beast's websocket templates are instantiated in websocket.cpp
// only. Not for use outside src/http.

#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/byte_stream.hpp"
#include "http/message.hpp"
#include "http/websocket.hpp"

namespace kisgate::http::detail {

using UpgradeRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Completes the server side of the opening handshake on `stream` for `request` (an upgrade),
// answering 101 with `extra` headers and `server_header`. Returns null (and sets `error`) when the
// handshake fails; the connection is then closed.
boost::asio::awaitable<std::unique_ptr<WebSocket>> AcceptWebSocket(
    ByteStream stream, UpgradeRequest request, Headers extra, std::string server_header,
    std::string remote, WebSocketOptions options, std::string& error);

}  // namespace kisgate::http::detail

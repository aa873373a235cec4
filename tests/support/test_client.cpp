#include "support/test_client.hpp"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

namespace kisgate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string_view> TestResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (http::EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

struct TestClient::Impl {
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  std::string host;
  std::string port;
  bool use_tls = false;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  bool Connected() const { return plain || secure; }

  void Connect() {
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port);
    if (use_tls) {
      tls.set_verify_mode(asio::ssl::verify_none);
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, tls);
      beast::get_lowest_layer(*secure).expires_after(std::chrono::seconds(10));
      beast::get_lowest_layer(*secure).connect(endpoints);
      secure->handshake(asio::ssl::stream_base::client);
    } else {
      plain = std::make_unique<beast::tcp_stream>(io);
      plain->expires_after(std::chrono::seconds(10));
      plain->connect(endpoints);
    }
    buffer.clear();
  }

  template <class Stream>
  TestResponse RoundTrip(Stream& stream, bhttp::request<bhttp::string_body>& req) {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    bhttp::write(stream, req);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    bhttp::read(stream, buffer, parser);
    auto res = parser.release();
    TestResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& f : res)
      out.headers.emplace_back(http::ToLower(f.name_string()), std::string(f.value()));
    out.body = std::move(res.body());
    if (!res.keep_alive()) Drop();
    return out;
  }

  void Drop() {
    beast::error_code ignored;
    if (plain) plain->socket().close(ignored);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    plain.reset();
    secure.reset();
  }
};

TestClient::TestClient(std::string base_url) : impl_(std::make_unique<Impl>()) {
  auto url = boost::urls::parse_uri(base_url);
  if (!url) throw std::invalid_argument("bad base url: " + base_url);
  impl_->use_tls = url->scheme() == "https";
  impl_->host = std::string(url->host_address());
  impl_->port = url->has_port() ? std::string(url->port()) : (impl_->use_tls ? "443" : "80");
}

TestClient::~TestClient() = default;

void TestClient::Close() { impl_->Drop(); }

std::optional<TestResponse> TestClient::Get(const std::string& target,
                                            const http::Headers& headers) {
  return Send("GET", target, "", headers);
}

std::optional<TestResponse> TestClient::Post(const std::string& target, const std::string& body,
                                             const http::Headers& headers) {
  return Send("POST", target, body, headers);
}

std::optional<TestResponse> TestClient::Send(const std::string& method, const std::string& target,
                                             const std::string& body,
                                             const http::Headers& headers) {
  error_.clear();
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, impl_->host);
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() && req.find(bhttp::field::content_type) == req.end()) {
    req.set(bhttp::field::content_type, "application/json; charset=utf-8");
  }
  req.body() = body;
  req.keep_alive(true);
  req.prepare_payload();
  try {
    if (!impl_->Connected()) impl_->Connect();
    if (impl_->secure) return impl_->RoundTrip(*impl_->secure, req);
    return impl_->RoundTrip(*impl_->plain, req);
  } catch (const std::exception& e) {
    error_ = e.what();
    impl_->Drop();
    return std::nullopt;
  }
}

std::string TestClient::SendRaw(const std::string& bytes, int timeout_ms) {
  impl_->Drop();
  std::string out;
  try {
    impl_->Connect();
    auto io_all = [&](auto& stream) {
      beast::get_lowest_layer(stream).expires_after(std::chrono::milliseconds(timeout_ms));
      asio::write(stream, asio::buffer(bytes));
      char chunk[4096];
      for (;;) {
        beast::error_code ec;
        auto n = stream.read_some(asio::buffer(chunk), ec);
        out.append(chunk, n);
        if (ec) break;
      }
    };
    if (impl_->secure) {
      io_all(*impl_->secure);
    } else {
      io_all(*impl_->plain);
    }
  } catch (const std::exception& e) {
    error_ = e.what();
  }
  impl_->Drop();
  return out;
}

void WriteSelfSignedCert(const std::string& dir) {
  // OpenSSL's own API: a 2048-bit RSA key and a one-day certificate for 127.0.0.1.
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) throw std::runtime_error("EVP_RSA_gen failed");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  // Clients verify an IP address against subjectAltName, not the CN.
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());
  auto write = [&](const std::string& file, auto fn) {
    FILE* f = std::fopen(file.c_str(), "wb");
    if (f == nullptr) throw std::runtime_error("cannot write " + file);
    fn(f);
    std::fclose(f);
  };
  write(dir + "/cert.pem", [&](FILE* f) { PEM_write_X509(f, cert); });
  write(dir + "/key.pem",
        [&](FILE* f) { PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kisgate-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace kisgate::testing

// The concrete streams behind ByteStream: every operation of beast::tcp_stream and
// beast::ssl_stream<beast::tcp_stream> that src/http uses is instantiated here, once, with the
// type-erased handlers.
#include "http/byte_stream.hpp"

#include <openssl/ssl.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace kisgate::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class ByteStream::Impl {
 public:
  virtual ~Impl() = default;
  virtual beast::tcp_stream& Lowest() = 0;
  virtual bool IsTls() const = 0;
  virtual void* NativeTls() = 0;
  virtual void VerifyHostName(const std::string& host) = 0;
  virtual void Read(asio::mutable_buffer buffer, IoHandler handler) = 0;
  virtual void Write(IoHandler handler) = 0;  // writes write_buffers[0, write_count)
  virtual void Handshake(asio::ssl::stream_base::handshake_type type, DoneHandler handler) = 0;
  virtual void AsyncTeardown(beast::role_type role, DoneHandler handler) = 0;
  virtual void Teardown(beast::role_type role, boost::system::error_code& ec) = 0;

  // The buffers of the pending write (Beast keeps one write pending per stream).
  std::array<asio::const_buffer, kMaxWriteBuffers> write_buffers;
  std::size_t write_count = 0;
  std::span<const asio::const_buffer> WriteBuffers() const {
    return {write_buffers.data(), write_count};
  }
};

namespace {

// Binds a type-erased handler to the stream's executor. Asio 1.81's any_completion_executor (the
// associated executor of an any_completion_handler) lacks the blocking.never property that
// Beast's operations require of it when they post a completion; the stream's own executor, the
// one the waiting coroutine runs on, has it.
template <class Handler>
auto Bound(const asio::any_io_executor& ex, Handler handler) {
  return asio::bind_executor(ex, std::move(handler));
}

class PlainImpl final : public ByteStream::Impl {
 public:
  explicit PlainImpl(beast::tcp_stream stream) : stream_(std::move(stream)) {}
  beast::tcp_stream& Lowest() override { return stream_; }
  bool IsTls() const override { return false; }
  void* NativeTls() override { return nullptr; }
  void VerifyHostName(const std::string& /*host*/) override {}
  void Read(asio::mutable_buffer buffer, ByteStream::IoHandler handler) override {
    stream_.async_read_some(buffer, Bound(stream_.get_executor(), std::move(handler)));
  }
  void Write(ByteStream::IoHandler handler) override {
    stream_.async_write_some(WriteBuffers(), Bound(stream_.get_executor(), std::move(handler)));
  }
  void Handshake(asio::ssl::stream_base::handshake_type /*type*/,
                 ByteStream::DoneHandler handler) override {
    asio::post(stream_.get_executor(),
               [h = std::move(handler)]() mutable { std::move(h)(boost::system::error_code{}); });
  }
  void AsyncTeardown(beast::role_type role, ByteStream::DoneHandler handler) override {
    using beast::websocket::async_teardown;  // and Beast's overload for tcp_stream, by ADL
    async_teardown(role, stream_, Bound(stream_.get_executor(), std::move(handler)));
  }
  void Teardown(beast::role_type role, boost::system::error_code& ec) override {
    using beast::websocket::teardown;
    teardown(role, stream_, ec);
  }

 private:
  beast::tcp_stream stream_;
};

class TlsImpl final : public ByteStream::Impl {
 public:
  TlsImpl(beast::tcp_stream stream, asio::ssl::context& context,
          std::shared_ptr<asio::ssl::context> owned)
      : owned_(std::move(owned)), stream_(std::move(stream), context) {}
  beast::tcp_stream& Lowest() override { return beast::get_lowest_layer(stream_); }
  bool IsTls() const override { return true; }
  void* NativeTls() override { return stream_.native_handle(); }
  void VerifyHostName(const std::string& host) override {
    stream_.set_verify_callback(asio::ssl::host_name_verification(host));
  }
  void Read(asio::mutable_buffer buffer, ByteStream::IoHandler handler) override {
    stream_.async_read_some(buffer, Bound(stream_.get_executor(), std::move(handler)));
  }
  void Write(ByteStream::IoHandler handler) override {
    stream_.async_write_some(WriteBuffers(), Bound(stream_.get_executor(), std::move(handler)));
  }
  void Handshake(asio::ssl::stream_base::handshake_type type,
                 ByteStream::DoneHandler handler) override {
    stream_.async_handshake(type, Bound(stream_.get_executor(), std::move(handler)));
  }
  void AsyncTeardown(beast::role_type role, ByteStream::DoneHandler handler) override {
    using beast::websocket::async_teardown;  // and Beast's overload for ssl_stream, by ADL
    async_teardown(role, stream_, Bound(stream_.get_executor(), std::move(handler)));
  }
  void Teardown(beast::role_type role, boost::system::error_code& ec) override {
    using beast::websocket::teardown;
    teardown(role, stream_, ec);
  }

 private:
  std::shared_ptr<asio::ssl::context> owned_;  // declared first: outlives the stream
  beast::ssl_stream<beast::tcp_stream> stream_;
};

}  // namespace

ByteStream ByteStream::Plain(beast::tcp_stream stream) {
  return ByteStream(std::make_unique<PlainImpl>(std::move(stream)));
}

ByteStream ByteStream::Tls(beast::tcp_stream stream, asio::ssl::context& context,
                           std::shared_ptr<asio::ssl::context> owned) {
  return ByteStream(std::make_unique<TlsImpl>(std::move(stream), context, std::move(owned)));
}

ByteStream::ByteStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ByteStream::ByteStream(ByteStream&&) noexcept = default;
ByteStream& ByteStream::operator=(ByteStream&&) noexcept = default;
ByteStream::~ByteStream() = default;

ByteStream::executor_type ByteStream::get_executor() { return impl_->Lowest().get_executor(); }
beast::tcp_stream& ByteStream::lowest() { return impl_->Lowest(); }
bool ByteStream::is_tls() const { return impl_->IsTls(); }
void* ByteStream::native_tls_handle() { return impl_->NativeTls(); }
void ByteStream::VerifyHostName(const std::string& host) { impl_->VerifyHostName(host); }

void ByteStream::StartRead(asio::mutable_buffer buffer, IoHandler handler) {
  impl_->Read(buffer, std::move(handler));
}

void ByteStream::StartWrite(std::span<const asio::const_buffer> buffers, IoHandler handler) {
  impl_->write_count = std::min(buffers.size(), impl_->write_buffers.size());
  std::copy_n(buffers.begin(), impl_->write_count, impl_->write_buffers.begin());
  impl_->Write(std::move(handler));
}

void ByteStream::StartHandshake(asio::ssl::stream_base::handshake_type type, DoneHandler handler) {
  impl_->Handshake(type, std::move(handler));
}

void ByteStream::StartTeardown(beast::role_type role, DoneHandler handler) {
  impl_->AsyncTeardown(role, std::move(handler));
}

void ByteStream::Teardown(beast::role_type role, boost::system::error_code& ec) {
  impl_->Teardown(role, ec);
}

void teardown(beast::role_type role, ByteStream& stream, boost::system::error_code& ec) {
  stream.Teardown(role, ec);
}

void beast_close_socket(ByteStream& stream) {
  boost::system::error_code ignored;
  stream.lowest().socket().close(ignored);
}

}  // namespace kisgate::http

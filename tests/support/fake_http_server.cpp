#include "tests/support/fake_http_server.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <future>

namespace rt::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

struct FakeHttpServer::Session {
  explicit Session(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  asio::ip::tcp::socket socket;
  boost::beast::flat_buffer buffer;
  TestRequest request;
  TestResponse response;
};

FakeHttpServer::Reply FakeHttpServer::Text(int status, std::string body) {
  Reply reply;
  reply.response.result(static_cast<bhttp::status>(status));
  reply.response.set(bhttp::field::content_type, "text/plain");
  reply.response.body() = std::move(body);
  return reply;
}

FakeHttpServer::Handler FakeHttpServer::Always(int status, std::string body) {
  return [status, body = std::move(body)](const TestRequest&) { return Text(status, body); };
}

FakeHttpServer::FakeHttpServer(Handler handler, uint16_t port)
    : handler_(std::move(handler)), guard_(ioc_.get_executor()), acceptor_(ioc_) {
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  DoAccept();
  thread_ = std::thread([this] { ioc_.run(); });
}

FakeHttpServer::~FakeHttpServer() { Stop(); }

uint64_t FakeHttpServer::connections() const {
  std::lock_guard lock(mutex_);
  return connections_;
}

uint64_t FakeHttpServer::request_count() const {
  std::lock_guard lock(mutex_);
  return seen_.size();
}

std::vector<SeenRequest> FakeHttpServer::seen() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

void FakeHttpServer::RunOnIo(const std::function<void()>& fn) {
  std::promise<void> done;
  asio::post(ioc_, [&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

void FakeHttpServer::CloseConnections() {
  RunOnIo([this] {
    for (auto& weak : sessions_) {
      if (auto s = weak.lock()) {
        boost::system::error_code ignored;
        s->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        s->socket.close(ignored);
      }
    }
    sessions_.clear();
  });
}

void FakeHttpServer::Stop() {
  if (!thread_.joinable()) return;
  RunOnIo([this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  CloseConnections();
  guard_.reset();
  ioc_.stop();
  thread_.join();
}

void FakeHttpServer::DoAccept() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec) return;
    {
      std::lock_guard lock(mutex_);
      ++connections_;
    }
    auto session = std::make_shared<Session>(std::move(socket));
    sessions_.push_back(session);
    DoRead(session);
    DoAccept();
  });
}

void FakeHttpServer::DoRead(std::shared_ptr<Session> s) {
  s->request = {};
  bhttp::async_read(
      s->socket, s->buffer, s->request, [this, s](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        {
          std::lock_guard lock(mutex_);
          seen_.push_back(
              {std::string(s->request.method_string()), std::string(s->request.target()),
               std::string(s->request[bhttp::field::cache_control]), s->request.body()});
        }
        Reply reply = handler_(s->request);
        if (!reply.answer) {
          hung_.push_back(s);  // keep it open, silent
          return;
        }
        const bool close = reply.close_after || !s->request.keep_alive();
        s->response = std::move(reply.response);
        s->response.version(s->request.version());
        s->response.keep_alive(!close);
        s->response.prepare_payload();
        bhttp::async_write(s->socket, s->response,
                           [this, s, close](boost::system::error_code write_ec, std::size_t) {
                             if (write_ec) return;
                             if (close) {
                               boost::system::error_code ignored;
                               s->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                               s->socket.close(ignored);
                               return;
                             }
                             DoRead(s);
                           });
      });
}

std::string ClosedPortUrl() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return "http://127.0.0.1:" + std::to_string(port);
}

}  // namespace rt::testing

#include "server/http/http_server.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

namespace rt::http {

namespace net = boost::asio;

namespace {

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

HttpServer::HttpServer(Router router, ServerOptions options)
    : router_(std::move(router)),
      options_(options),
      registry_(std::make_shared<SessionRegistry>()),
      thread_count_(ThreadCount(options.threads)),
      context_(thread_count_),
      work_(net::make_work_guard(context_)),
      listener_(std::make_shared<Listener>(context_, router_, options_, registry_)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    // A name such as "localhost" in a node URL: listen on its first address.
    net::ip::tcp::resolver resolver(context_);
    const auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("cannot resolve listen host \"" + host + "\"" +
                                     (ec ? ": " + ec.message() : ""));
    }
    address = results.begin()->endpoint().address();
  }
  return listener_->Open(net::ip::tcp::endpoint(address, port));
}

net::ip::tcp::endpoint HttpServer::LocalEndpoint() const { return listener_->LocalEndpoint(); }

void HttpServer::Start() {
  listener_->Start();
  threads_.reserve(static_cast<std::size_t>(thread_count_));
  for (int i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { context_.run(); });
}

void HttpServer::Stop() {
  std::call_once(stopped_, [this] {
    listener_->Stop();
    registry_->BeginStop();
    if (!threads_.empty()) {
      registry_->WaitEmpty(std::chrono::steady_clock::now() + options_.drain_timeout);
    }
    work_.reset();
    context_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  });
}

}  // namespace rt::http

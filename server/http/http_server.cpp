#include "server/http/http_server.h"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <utility>

namespace rt::http {

namespace net = boost::asio;

namespace {

std::size_t ThreadCount(int requested) {
  if (requested > 0) return static_cast<std::size_t>(requested);
  return std::max(1u, std::thread::hardware_concurrency());
}

// How often each I/O thread looks for expired connections: a quarter of the shortest
// timeout, so that a timeout fires at most 25% late, and at most once a second.
std::chrono::milliseconds SweepPeriod(const ServerOptions& options) {
  const auto shortest =
      std::min({options.idle_timeout, options.header_timeout, options.io_timeout});
  return std::clamp(shortest / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
}

}  // namespace

HttpServer::HttpServer(Router router, ServerOptions options)
    : router_(std::move(router)), options_(options), sweep_period_(SweepPeriod(options_)) {
  if (options_.max_connections == 0) options_.max_connections = DefaultMaxConnections();
  const std::size_t count = ThreadCount(options.threads);
  registry_ = std::make_shared<SessionRegistry>(count);
  std::vector<Session::Executor> executors;
  for (std::size_t i = 0; i < count; ++i) {
    io_.push_back(std::make_unique<IoThread>());
    executors.push_back(io_.back()->context.get_executor());
  }
  listener_ = std::make_shared<Listener>(std::move(executors), router_, options_, registry_);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Listen(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    // A name such as "localhost" in a node URL: listen on its first address.
    net::ip::tcp::resolver resolver(io_.front()->context);
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
  for (std::size_t shard = 0; shard < io_.size(); ++shard) {
    ScheduleSweep(shard);
    IoThread& io = *io_[shard];
    io.thread = std::thread([&io] { io.context.run(); });
  }
}

void HttpServer::ScheduleSweep(std::size_t shard) {
  net::steady_timer& timer = io_[shard]->sweep;
  timer.expires_after(sweep_period_);
  timer.async_wait([this, shard](boost::system::error_code ec) {
    if (ec) return;
    registry_->CloseExpired(shard, std::chrono::steady_clock::now());
    ScheduleSweep(shard);
  });
}

void HttpServer::Stop() {
  std::call_once(stopped_, [this] {
    listener_->Stop();
    registry_->BeginStop();
    const bool started = io_.front()->thread.joinable();
    if (started) registry_->WaitEmpty(std::chrono::steady_clock::now() + options_.drain_timeout);
    for (auto& io : io_) {
      io->work.reset();
      io->context.stop();
    }
    for (auto& io : io_) {
      if (io->thread.joinable()) io->thread.join();
    }
  });
}

void HttpServer::Abort() {
  std::call_once(stopped_, [this] {
    for (auto& io : io_) {
      io->work.reset();
      io->context.stop();
    }
    for (auto& io : io_) {
      if (io->thread.joinable()) io->thread.join();
    }
  });
}

}  // namespace rt::http

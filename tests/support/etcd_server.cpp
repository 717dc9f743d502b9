#include "tests/support/etcd_server.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "config/source/etcd_client.h"
#include "tests/support/wait_for.h"

namespace rt::testing {
namespace {

constexpr const char* kEtcd = "/usr/bin/etcd";

// A port nobody listens on now. Another process may take it before etcd binds it;
// on this shared test machine that is rare enough, and Start then fails visibly.
uint16_t FreePort() {
  boost::asio::io_context context;
  boost::asio::ip::tcp::acceptor acceptor(
      context, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace

bool EtcdServer::Available() { return access(kEtcd, X_OK) == 0; }

EtcdServer::EtcdServer() : client_port_(FreePort()), peer_port_(FreePort()) {}

EtcdServer::~EtcdServer() { Stop(); }

std::string EtcdServer::Endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }

bool EtcdServer::Start() {
  Stop();
  const std::string client = "http://" + Endpoint();
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  process_ = std::make_unique<Process>(
      kEtcd,
      std::vector<std::string>{"--name", "rt-test", "--data-dir", dir_.Sub("data"),
                               "--listen-client-urls", client, "--advertise-client-urls", client,
                               "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                               "--initial-cluster", "rt-test=" + peer, "--log-level", "warn"});
  const EtcdClient client_api({Endpoint()}, std::chrono::milliseconds(500));
  return WaitFor([&] { return !process_->running() ? true : client_api.Get("probe").ok(); },
                 std::chrono::seconds(20), std::chrono::milliseconds(50)) &&
         process_->running();
}

void EtcdServer::Stop() {
  if (!process_) return;
  process_->Terminate();
  if (!process_->WaitExit(std::chrono::seconds(10))) process_->Kill();
  process_->WaitExit(std::chrono::seconds(5));
  log_ += process_->Stderr();
  process_.reset();
}

std::string EtcdServer::Log() const { return log_ + (process_ ? process_->Stderr() : ""); }

}  // namespace rt::testing

#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

namespace rt::testing {

// An io_context run by one thread, like a node's client runtime, for tests of
// asynchronous clients. Completion handlers run on that thread: record results
// there and assert on the test's thread. Stops and joins on destruction.
class TestIoThread {
 public:
  TestIoThread() : guard_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}
  ~TestIoThread() {
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }
  TestIoThread(const TestIoThread&) = delete;
  TestIoThread& operator=(const TestIoThread&) = delete;

  boost::asio::io_context& ioc() { return ioc_; }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace rt::testing

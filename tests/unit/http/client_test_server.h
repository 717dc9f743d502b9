#pragma once

// Kept so that tests/unit/api/forwarder_test.cpp builds unchanged while it is being
// edited elsewhere; new code includes the tests/support headers directly.
#include <chrono>
#include <condition_variable>
#include <future>

#include "server/http/types.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/io_thread.h"
#include "tests/support/wait_for.h"

namespace rt::testing {
using ClientTestServer = FakeHttpServer;
}  // namespace rt::testing

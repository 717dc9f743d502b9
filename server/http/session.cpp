#include "server/http/session.h"

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <charconv>
#include <string_view>
#include <utility>

namespace rt::http {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

// What one read asks for: a whole small request, or a good part of a batch body.
constexpr std::size_t kReadChunk = 16 * 1024;

// Bytes discarded after a final response before the socket is closed: closing with
// unread input makes the kernel send a reset, which can destroy the response before
// the client has read it.
constexpr std::size_t kLingerBytes = 1 << 20;
constexpr std::chrono::milliseconds kLingerTimeout{2000};

void AppendNumber(std::string& out, std::size_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, ec == std::errc() ? end : digits);
}

// The response head as Beast's serializer writes it ("HTTP/1.1 202 Accepted\r\n",
// "Name: value\r\n" per field, the empty line), with Content-Length and the
// connection's persistence added here rather than as fields of the message, which
// would allocate per response.
void AppendResponseHead(const Response& response, unsigned version, bool keep_alive,
                        std::string& out) {
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  AppendNumber(out, response.result_int());
  out += ' ';
  out += response.reason();
  out += "\r\n";
  for (const auto& field : response) {
    const beast_http::field name = field.name();
    if (name == beast_http::field::content_length || name == beast_http::field::connection ||
        name == beast_http::field::transfer_encoding) {
      continue;  // the server's business, set below
    }
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  const unsigned status = response.result_int();
  if (status >= 200 && status != 204 && status != 304) {
    out += "Content-Length: ";
    AppendNumber(out, response.body().size());
    out += "\r\n";
  }
  if (!keep_alive && version >= 11) out += "Connection: close\r\n";
  if (keep_alive && version < 11) out += "Connection: keep-alive\r\n";
  out += "\r\n";
}

}  // namespace

Session::Session(Socket&& socket, std::size_t shard, const Router& router,
                 const ServerOptions& options, std::shared_ptr<SessionRegistry> registry)
    : socket_(std::move(socket)),
      shard_(shard),
      router_(router),
      options_(options),
      registry_(std::move(registry)) {
  registry_->Add(this, shard_);
}

Session::~Session() { registry_->Remove(this, shard_); }

void Session::Run() {
  net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
    // Writes try a direct send first; only a full socket buffer waits for the reactor.
    beast::error_code ignored;
    self->socket_.non_blocking(true, ignored);
    self->DoReadRequest();
  });
}

void Session::OnServerStop() {
  net::post(socket_.get_executor(), [weak = weak_from_this()] {
    auto self = weak.lock();
    if (!self) return;
    if (self->state_ == State::kIdle) self->Close();
  });
}

void Session::Respond(Response&& response) {
  if (socket_.get_executor().running_in_this_thread()) return DoWrite(std::move(response));
  net::post(socket_.get_executor(), [self = shared_from_this(), r = std::move(response)]() mutable {
    self->DoWrite(std::move(r));
  });
}

void Session::DoReadRequest() {
  if (registry_->stopping()) return Close();
  state_ = State::kIdle;
  route_ = nullptr;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
  // The route decides the body limit once the header is known; until then none, so
  // that a large Content-Length is judged against the route's limit, not Beast's default.
  parser_->body_limit(boost::none);
  SetDeadline(options_.idle_timeout);
  if (buffer_.size() == 0) return ReadMore();
  // A pipelined request is already buffered. Posted, not called: a long pipeline
  // must not grow the stack.
  state_ = State::kReading;
  SetDeadline(options_.header_timeout);
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->ParseBuffered(); });
}

void Session::ReadMore() {
  socket_.async_read_some(buffer_.prepare(kReadChunk),
                          [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                            self->OnRead(ec, bytes);
                          });
}

void Session::OnRead(beast::error_code ec, std::size_t bytes) {
  // End of stream or a reset, between requests or within one (a partial request
  // gets no answer, as the client is gone): nothing to answer.
  if (ec || state_ == State::kClosed) return Close();
  buffer_.commit(bytes);
  if (state_ == State::kIdle) {
    state_ = State::kReading;
    // The header timeout runs from here; it is set only if this read leaves the
    // header incomplete (rare), saving a clock read per request.
    header_deadline_due_ = true;
  }
  ParseBuffered();
}

void Session::ParseBuffered() {
  if (state_ == State::kClosed) return;
  while (buffer_.size() > 0) {
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == beast_http::error::need_more) break;
    if (ec) return OnParseError(ec);
    if (route_ == nullptr && parser_->is_header_done() && !OnHeader()) return;
    if (parser_->is_done()) return CallHandler();
    if (used == 0) break;
  }
  if (route_ != nullptr && parser_->is_done()) return CallHandler();  // empty body
  if (header_deadline_due_ && !parser_->is_header_done()) SetDeadline(options_.header_timeout);
  header_deadline_due_ = false;
  ReadMore();
}

bool Session::OnHeader() {
  Request& request = parser_->get();
  keep_alive_ = request.keep_alive();
  const Router::Match match = router_.Find(request.method(), request.target());
  if (match.route == nullptr) {
    Response response = Router::ErrorResponse(match, request.target());
    // The unread body of a refused request would be parsed as the next request.
    if (parser_->is_done()) {
      DoWrite(std::move(response));
    } else {
      SendFinal(std::move(response));
    }
    return false;
  }
  const std::size_t limit = match.route->body_limit;
  const auto length = parser_->content_length();
  if (length && *length > limit) {
    SendFinal(
        MakeErrorResponse(StatusCode::payload_too_large, "body of " + std::to_string(*length) +
                                                             " bytes exceeds the limit of " +
                                                             std::to_string(limit) + " bytes"));
    return false;
  }
  route_ = match.route;
  if (parser_->is_done()) return true;
  parser_->body_limit(limit);
  SetDeadline(options_.io_timeout);
  if (beast::iequals(request[beast_http::field::expect], "100-continue") && buffer_.size() == 0) {
    // curl waits up to a second for this before sending a large body.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code e, std::size_t) {
                       if (e) return self->Close();
                       self->ReadMore();
                     });
    return false;
  }
  return true;
}

void Session::CallHandler() {
  state_ = State::kHandling;
  ClearDeadline();
  in_handler_ = true;
  route_->handler(parser_->get(), Responder(shared_from_this()));
  in_handler_ = false;
  if (next_request_due_) {
    next_request_due_ = false;
    DoReadRequest();
  }
}

void Session::OnParseError(beast::error_code ec) {
  if (ec == beast_http::error::header_limit) {
    return SendFinal(MakeErrorResponse(
        StatusCode::request_header_fields_too_large,
        "request header exceeds " + std::to_string(options_.header_limit) + " bytes"));
  }
  if (ec == beast_http::error::body_limit) {
    return SendFinal(MakeErrorResponse(StatusCode::payload_too_large,
                                       "request body exceeds the limit of this path"));
  }
  SendFinal(MakeErrorResponse(StatusCode::bad_request, "malformed HTTP request: " + ec.message()));
}

void Session::SendFinal(Response&& response) {
  keep_alive_ = false;
  DoWrite(std::move(response));
}

void Session::DoWrite(Response&& response) {
  if (state_ == State::kClosed) return;
  state_ = State::kWriting;
  response_ = std::move(response);
  keep_alive_ = keep_alive_ && !registry_->stopping();
  const bool have_request = parser_ && parser_->is_header_done();
  const unsigned version = have_request ? parser_->get().version() : 11;
  // A response to HEAD has a Content-Length but no body (RFC 9110 §9.3.2): a client
  // reads body bytes as the start of the next response. HEAD runs the path's GET
  // handler (Router::Find), so this holds for its answers and for 404/405/413/400.
  const bool to_head = have_request && parser_->get().method() == beast_http::verb::head;
  // The head is formatted into a buffer this session reuses and sent with the body
  // in one gather write. Every response here has a complete string body, and
  // Beast's generic serializer cost a quarter of the CPU of a small request
  // (bench/run, rt HttpServer with trivial handlers: 120 k → 156 k requests per CPU s).
  head_.clear();
  AppendResponseHead(response_, version, keep_alive_, head_);
  std::array<net::const_buffer, 2> buffers{
      net::buffer(head_), to_head ? net::const_buffer() : net::buffer(response_.body())};
  const std::size_t total = buffers[0].size() + buffers[1].size();
  // Small responses fit the socket buffer: send now instead of a round through the
  // reactor (the socket is non-blocking; a partial send finishes asynchronously).
  beast::error_code ec;
  const std::size_t sent = socket_.write_some(buffers, ec);
  if (!ec && sent == total) return OnWritten();
  if (ec && ec != net::error::would_block && ec != net::error::try_again) return Close();
  if (sent < buffers[0].size()) {
    buffers[0] += sent;
  } else {
    buffers[1] += sent - buffers[0].size();
    buffers[0] = net::const_buffer();
  }
  SetDeadline(options_.io_timeout);
  net::async_write(socket_, buffers, [self = shared_from_this()](beast::error_code e, std::size_t) {
    if (e) return self->Close();
    self->OnWritten();
  });
}

void Session::OnWritten() {
  if (!keep_alive_) return LingerAndClose();
  if (in_handler_) {
    next_request_due_ = true;  // CallHandler continues once the handler returned
    return;
  }
  DoReadRequest();
}

void Session::LingerAndClose() {
  // Lingering close: stop sending, drain what the client still sends, then close.
  state_ = State::kClosed;
  beast::error_code ignored;
  socket_.shutdown(Socket::shutdown_send, ignored);
  SetDeadline(kLingerTimeout);
  buffer_.clear();
  struct Drainer {
    std::shared_ptr<Session> self;
    std::size_t drained;
    void operator()(beast::error_code e, std::size_t n) {
      drained += n;
      if (e || drained > kLingerBytes) return self->Close();
      self->buffer_.clear();
      self->socket_.async_read_some(self->buffer_.prepare(kReadChunk), std::move(*this));
    }
  };
  socket_.async_read_some(buffer_.prepare(kReadChunk), Drainer{shared_from_this(), 0});
}

void Session::Close() {
  state_ = State::kClosed;
  ClearDeadline();
  beast::error_code ignored;
  socket_.shutdown(Socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace rt::http

// DbusLoop (see the header).
#include "dbus_loop.hpp"

#include <poll.h>
#include <sdbus-c++/Error.h>

#include <boost/asio/post.hpp>

namespace mhafb {

namespace asio = boost::asio;

DbusLoop::DbusLoop(asio::io_context& io, sdbus::IConnection& connection,
                   std::function<void(const std::string&)> on_failure)
    : connection_(connection), fd_(io), timer_(io), on_failure_(std::move(on_failure)) {}

DbusLoop::~DbusLoop() {
  boost::system::error_code ec;
  fd_.cancel(ec);
  if (fd_.is_open()) fd_.release();
}

void DbusLoop::start() {
  running_ = true;
  on_event(generation_);
}

void DbusLoop::stop() {
  running_ = false;
  ++generation_;
  boost::system::error_code ec;
  fd_.cancel(ec);
  timer_.cancel();
}

void DbusLoop::kick() {
  if (!running_ || processing_) return;  // on_event re-arms when it is done
  // Process on the next loop turn: the caller may be inside code that must not re-enter sd-bus.
  auto generation = ++generation_;
  asio::post(timer_.get_executor(), [this, generation] { on_event(generation); });
}

void DbusLoop::arm() {
  auto generation = ++generation_;
  auto pd = connection_.getEventLoopPollData();
  boost::system::error_code ec;
  if (!fd_.is_open() || fd_.native_handle() != pd.fd) {
    if (fd_.is_open()) {
      fd_.cancel(ec);
      fd_.release();
    }
    fd_.assign(pd.fd);
  } else {
    fd_.cancel(ec);
  }
  timer_.cancel();
  auto handler = [this, generation](const boost::system::error_code& e) {
    if (!e) on_event(generation);
  };
  if (pd.events & POLLIN) fd_.async_wait(asio::posix::stream_descriptor::wait_read, handler);
  if (pd.events & POLLOUT) fd_.async_wait(asio::posix::stream_descriptor::wait_write, handler);
  if (auto rel = pd.getRelativeTimeout()) {
    timer_.expires_after(*rel);
    timer_.async_wait(handler);
  }
}

void DbusLoop::on_event(std::uint64_t generation) {
  if (!running_ || generation != generation_) return;
  processing_ = true;
  try {
    while (connection_.processPendingRequest()) {
    }
  } catch (const sdbus::Error& e) {
    processing_ = false;
    stop();
    on_failure_(e.getMessage());
    return;
  }
  processing_ = false;
  arm();
}

}  // namespace mhafb

// DbusLoop: drives an sdbus-c++ connection from the daemon's Boost.Asio loop, so every D-Bus
// callback (method, property read, reply) runs on the loop thread. sd-bus says what to wait for in
// getEventLoopPollData() (fd, POLLIN/POLLOUT, an absolute deadline); it changes after every send,
// so the wait is re-armed after each processing round and after we send anything ourselves (kick()).
#pragma once

#include <sdbus-c++/IConnection.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace mhafb {

class DbusLoop {
 public:
  // `on_failure` runs (on the loop) when the connection breaks; the loop stops driving it.
  DbusLoop(boost::asio::io_context& io, sdbus::IConnection& connection,
           std::function<void(const std::string&)> on_failure);
  ~DbusLoop();
  DbusLoop(const DbusLoop&) = delete;
  DbusLoop& operator=(const DbusLoop&) = delete;

  void start();
  void stop();
  // Re-reads the poll data after we queued something outside a callback (a reply, a signal).
  void kick();

 private:
  void arm();
  void on_event(std::uint64_t generation);

  sdbus::IConnection& connection_;
  boost::asio::posix::stream_descriptor fd_;  // not ours: released, never closed
  boost::asio::steady_timer timer_;
  std::function<void(const std::string&)> on_failure_;
  std::uint64_t generation_ = 0;
  bool running_ = false;
  bool processing_ = false;
};

}  // namespace mhafb

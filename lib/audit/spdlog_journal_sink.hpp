// An spdlog sink for the daemon's ordinary log lines with the same journal-or-stderr logic as the
// audit records. spdlog 1.10's stock systemd sink cannot add fields and drops lines without
// journald; this one adds CLUSTER= when the logger is named after a cluster.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>

#include "audit/journal_writer.hpp"

namespace mhafb {

class JournalSpdlogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSpdlogSink(std::shared_ptr<JournalWriter> writer);

  static int priority_of(spdlog::level::level_enum level);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  std::shared_ptr<JournalWriter> writer_;
};

// A logger named `name` (a cluster name, or "" for the daemon itself) writing through `writer`.
std::shared_ptr<spdlog::logger> make_journal_logger(const std::string& name,
                                                    std::shared_ptr<JournalWriter> writer);

}  // namespace mhafb

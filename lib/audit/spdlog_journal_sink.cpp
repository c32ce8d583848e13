// JournalSpdlogSink (see the header).
#include "audit/spdlog_journal_sink.hpp"

#include <spdlog/logger.h>

namespace mhafb {

JournalSpdlogSink::JournalSpdlogSink(std::shared_ptr<JournalWriter> writer) : writer_(std::move(writer)) {}

int JournalSpdlogSink::priority_of(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;
  }
}

void JournalSpdlogSink::sink_it_(const spdlog::details::log_msg& msg) {
  std::string message(msg.payload.data(), msg.payload.size());
  std::vector<JournalField> fields;
  std::string logger(msg.logger_name.data(), msg.logger_name.size());
  if (!logger.empty()) fields.push_back({"CLUSTER", logger});
  writer_->write(priority_of(msg.level), message, fields);
}

std::shared_ptr<spdlog::logger> make_journal_logger(const std::string& name,
                                                    std::shared_ptr<JournalWriter> writer) {
  auto sink = std::make_shared<JournalSpdlogSink>(std::move(writer));
  return std::make_shared<spdlog::logger>(name, std::move(sink));
}

}  // namespace mhafb

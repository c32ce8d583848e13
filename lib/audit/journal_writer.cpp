// JournalWriter: sd_journal_sendv with a checked socket and a stderr fallback (see the header).
#include "audit/journal_writer.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <algorithm>
#include <cctype>

namespace mhafb {

namespace {

const char* level_name(int priority) {
  switch (priority) {
    case 0:
      return "emerg";
    case 1:
      return "alert";
    case 2:
      return "crit";
    case 3:
      return "error";
    case 4:
      return "warning";
    case 5:
      return "notice";
    case 6:
      return "info";
    default:
      return "debug";
  }
}

bool is_reserved(const std::string& name) {
  return name == "MESSAGE" || name == "PRIORITY" || name == "SYSLOG_IDENTIFIER";
}

bool needs_quotes(const std::string& v) {
  if (v.empty()) return true;
  return std::any_of(v.begin(), v.end(), [](unsigned char c) {
    return std::isspace(c) || c == '"' || c == '\\' || c < 0x20 || c == '=';
  });
}

std::string quoted(const std::string& v) {
  if (!needs_quotes(v)) return v;
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

bool socket_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

JournalWriter::JournalWriter() : JournalWriter(Options{}) {}

JournalWriter::JournalWriter(Options options) : options_(std::move(options)) {}

std::string JournalWriter::sanitize_field_name(const std::string& name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c))
      out += static_cast<char>(std::toupper(c));
    else
      out += '_';
  }
  // journald drops fields starting with '_' (trusted) or a digit.
  auto first = out.find_first_not_of("_0123456789");
  if (first == std::string::npos) return {};
  out.erase(0, first);
  if (out.size() > 64) out.resize(64);
  return out;
}

std::string JournalWriter::format_line(int priority, const std::string& identifier,
                                       const std::string& message, const std::vector<JournalField>& fields) {
  std::string line = level_name(priority);
  line += ' ';
  line += identifier;
  line += ": ";
  for (char c : message)
    line += (c == '\n') ? ' ' : c;
  for (const auto& f : fields) {
    auto name = sanitize_field_name(f.name);
    if (name.empty() || is_reserved(name) || f.value.empty()) continue;
    line += ' ';
    line += name;
    line += '=';
    line += quoted(f.value);
  }
  line += '\n';
  return line;
}

bool JournalWriter::send_to_journal(int priority, const std::string& message,
                                    const std::vector<JournalField>& fields) {
  std::vector<std::string> items;
  items.reserve(fields.size() + 3);
  items.push_back("MESSAGE=" + message);
  items.push_back("PRIORITY=" + std::to_string(std::clamp(priority, 0, 7)));
  items.push_back("SYSLOG_IDENTIFIER=" + options_.identifier);
  for (const auto& f : fields) {
    auto name = sanitize_field_name(f.name);
    if (name.empty() || is_reserved(name) || f.value.empty()) continue;
    items.push_back(name + "=" + f.value);
  }
  std::vector<iovec> iov;
  iov.reserve(items.size());
  for (auto& s : items)
    iov.push_back(iovec{s.data(), s.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

void JournalWriter::write_fallback(int priority, const std::string& message,
                                   const std::vector<JournalField>& fields) {
  auto line = format_line(priority, options_.identifier, message, fields);
  // A fallback line that cannot be written has nowhere else to go.
  (void)std::fwrite(line.data(), 1, line.size(), options_.fallback);
  (void)std::fflush(options_.fallback);
}

void JournalWriter::write(int priority, const std::string& message, const std::vector<JournalField>& fields) {
  std::lock_guard lock(mutex_);
  bool try_journal = options_.target == Target::Journal ||
                     (options_.target == Target::Auto && socket_exists(options_.socket_path));
  if (try_journal && send_to_journal(priority, message, fields)) {
    last_to_journal_ = true;
    return;
  }
  last_to_journal_ = false;
  write_fallback(priority, message, fields);
}

bool JournalWriter::journal_available() const {
  std::lock_guard lock(mutex_);
  return last_to_journal_;
}

}  // namespace mhafb

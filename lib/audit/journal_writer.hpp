// JournalWriter: writes one structured entry to systemd's journal with sd_journal_sendv, or, when
// journald is not there, one line to stderr. sd_journal_sendv returns success and drops the entry
// when nothing listens on journald's socket, so the writer checks the socket itself and also falls
// back when sending fails: an audit record is never silently lost. Shared by the audit sink and the
// spdlog sink; safe to call from any thread.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mhafb {

struct JournalField {
  std::string name;  // upper-case journal field name, e.g. CLUSTER
  std::string value;
};

class JournalWriter {
 public:
  enum class Target {
    Auto,     // the journal when its socket exists, else stderr (production)
    Journal,  // always try the journal first (still falls back on a send error)
    Stderr,   // always stderr (tests, --check-config)
  };

  struct Options {
    std::string identifier = "mha-failbackd";                 // SYSLOG_IDENTIFIER
    std::string socket_path = "/run/systemd/journal/socket";  // what Auto checks for
    Target target = Target::Auto;
    std::FILE* fallback = stderr;  // where the fallback lines go
  };

  JournalWriter();
  explicit JournalWriter(Options options);

  // `priority` is a syslog priority (0..7). `fields` must not contain MESSAGE, PRIORITY or
  // SYSLOG_IDENTIFIER; names are sanitized into valid journal field names.
  void write(int priority, const std::string& message, const std::vector<JournalField>& fields);

  // True when the last write went to the journal (tests and the startup log line).
  bool journal_available() const;
  const std::string& identifier() const { return options_.identifier; }

  // A valid journal field name from anything: upper-case letters, digits and '_', not starting
  // with '_' or a digit, at most 64 characters. Empty when nothing usable is left.
  static std::string sanitize_field_name(const std::string& name);
  // The stderr form: "<level> IDENT: MESSAGE [NAME=value ...]" with values quoted when needed.
  static std::string format_line(int priority, const std::string& identifier, const std::string& message,
                                 const std::vector<JournalField>& fields);

 private:
  bool send_to_journal(int priority, const std::string& message, const std::vector<JournalField>& fields);
  void write_fallback(int priority, const std::string& message, const std::vector<JournalField>& fields);

  Options options_;
  mutable std::mutex mutex_;
  bool last_to_journal_ = false;
};

}  // namespace mhafb

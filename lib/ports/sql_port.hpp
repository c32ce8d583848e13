// SqlPort: the one way the engine talks SQL to a server. The production adapter (sql/) uses
// MariaDB Connector/C with connect/read/write timeouts; unit tests use scripted fakes.
// Every statement carries an audit text (the statement with secrets replaced) and says whether it
// changes anything, so the dry-run decorator and the audit log need no SQL parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace mhafb {

// A database server as the engine addresses it: the MHA config's `hostname` (kept verbatim: the
// switch needs it string-equal) and its port.
struct Endpoint {
  std::string host;
  int port = 3306;

  std::string label() const { return host + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

struct SqlStatement {
  std::string text;        // what is sent to the server
  std::string audit_text;  // what is logged: text with every secret replaced by '***'
  bool mutates = false;    // true when the statement changes server state

  static SqlStatement read(std::string sql) {
    SqlStatement s{std::move(sql), {}, false};
    s.audit_text = s.text;
    return s;
  }
  static SqlStatement write(std::string sql) {
    SqlStatement s{std::move(sql), {}, true};
    s.audit_text = s.text;
    return s;
  }
};

using SqlRow = std::vector<std::optional<std::string>>;

// A case-insensitive hash of the column names of one result set, built on the first look-up:
// SHOW SLAVE STATUS has ~60 columns and its parser reads ~25 of them every tick. It belongs to the
// columns it was built from: copies and moves start empty, and a change of the vector's buffer or
// size rebuilds it (columns are not meant to be edited in place after the first look-up).
class ColumnIndex {
 public:
  ColumnIndex() = default;
  ColumnIndex(const ColumnIndex&) {}
  ColumnIndex(ColumnIndex&&) noexcept {}
  ColumnIndex& operator=(const ColumnIndex& other) {
    if (this != &other) clear();
    return *this;
  }
  ColumnIndex& operator=(ColumnIndex&&) noexcept {
    clear();
    return *this;
  }
  ~ColumnIndex() = default;

  // The position of the first column named `name` (case-insensitive).
  std::optional<std::size_t> find(const std::vector<std::string>& columns, std::string_view name);

 private:
  void clear() {
    built_for_ = nullptr;
    size_ = 0;
    slots_.clear();
  }
  const std::string* built_for_ = nullptr;
  std::size_t size_ = 0;
  std::vector<std::uint32_t> slots_;  // open addressing: column position + 1, 0 when free
};

struct ResultSet {
  std::vector<std::string> columns;
  std::vector<SqlRow> rows;
  // Look-up cache of get(): a ResultSet is not for concurrent get() from several threads.
  mutable ColumnIndex index{};

  bool empty() const { return rows.empty(); }
  // The value of column `name` (case-insensitive) in row `row`; nullopt when NULL or absent.
  std::optional<std::string> get(std::size_t row, std::string_view name) const;
  // Shorthand for the first column of the first row.
  std::optional<std::string> scalar() const;
};

class SqlPort {
 public:
  virtual ~SqlPort() = default;
  // Runs one statement. A failure is an Error whose `code` is the server's error number when the
  // server answered (e.g. 1236), 0 when it did not (kind Unreachable or Timeout).
  virtual Result<ResultSet> query(const Endpoint& server, const SqlStatement& statement) = 0;
};

}  // namespace mhafb

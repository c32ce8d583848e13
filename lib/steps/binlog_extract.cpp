// Extraction of a diverged old master's extra transactions with mysqlbinlog (see binlog_extract.hpp).
#include "steps/binlog_extract.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/errno_text.hpp"
#include "exec/unique_fd.hpp"
#include "sql/sql_quote.hpp"

namespace mhafb {

namespace {

Error fs_error(const std::string& what, int err) {
  return Error::failed(what + ": " + errno_text(err));
}

// A 0700 directory of our own (mkdtemp) beside the destination, removed with everything in it when
// this goes out of scope: the option file holding the password never outlives the extraction.
class PrivateDir {
 public:
  static Result<PrivateDir> create(const std::string& parent) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return Error::failed("cannot create directory " + parent + ": " + ec.message());
    std::string templ = parent + "/.extract-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr)
      return fs_error("cannot create a private directory in " + parent, errno);
    return PrivateDir(std::move(templ));
  }
  PrivateDir(PrivateDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  PrivateDir& operator=(PrivateDir&&) = delete;
  PrivateDir(const PrivateDir&) = delete;
  ~PrivateDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  explicit PrivateDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// Creates `path` (which must not exist yet) with mode 0600 whatever the umask, holding `content`.
Status create_private_file(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return fs_error("cannot create " + path, errno);
  if (::fchmod(fd.get(), 0600) != 0) return fs_error("cannot restrict " + path, errno);
  const char* data = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fs_error("cannot write " + path, errno);
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  if (fd.close_checked() != 0) return fs_error("cannot write " + path, errno);
  return {};
}

Status sync_path(const std::string& path, bool directory) {
  UniqueFd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (!fd) return fs_error("cannot open " + path + " to sync it", errno);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return fs_error("cannot sync " + path, errno);
  return {};
}

// The last non-empty line of a tool's stderr, bounded: what went wrong, for the blocked reason.
std::string last_line(const std::string& text) {
  std::size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return {};
  std::size_t begin = text.rfind('\n', end);
  begin = begin == std::string::npos ? 0 : begin + 1;
  std::string line = text.substr(begin, end - begin + 1);
  if (line.size() > 300) {
    line.resize(300);
    line += "...";
  }
  return line;
}

Result<MariaGtid> parse_one(const std::string& text) {
  auto list = parse_mariadb_gtid_list(text);
  if (!list) return std::move(list).error();
  if (list->size() != 1) return Error::invalid("expected one GTID, got '" + text + "'");
  return list->front();
}

// The newest binlog whose starting GTID position lies before every domain's first extra GTID.
Result<std::string> first_binlog(StepIo& io, const std::string& host, const GtidWindow& window) {
  auto logs = io.sql(host, SqlStatement::read("SHOW BINARY LOGS"));
  if (!logs) return Error::failed("SHOW BINARY LOGS on " + host + " failed: " + logs.error().message);
  std::vector<std::string> files;
  for (std::size_t i = 0; i < logs->rows.size(); ++i)
    if (auto f = logs->get(i, "Log_name")) files.push_back(*f);
  if (files.empty()) return Error::failed(host + " lists no binary logs");

  for (std::size_t i = files.size(); i-- > 0;) {
    auto pos = io.sql(host, SqlStatement::read("SELECT BINLOG_GTID_POS(" + quote_string(files[i]) + ", 4)"));
    if (!pos)
      return Error::failed("BINLOG_GTID_POS of " + files[i] + " on " + host +
                           " failed: " + pos.error().message);
    auto text = pos->scalar();
    if (!text) continue;  // the server cannot tell: look at an older file
    auto list = parse_mariadb_gtid_list(*text);
    if (!list)
      return Error::failed("BINLOG_GTID_POS of " + files[i] + " on " + host +
                           " is not a GTID list: " + list.error().message);
    bool before_all = true;
    for (const auto& first : window.first)
      for (const auto& g : *list)
        if (g.domain == first.domain && g.seq >= first.seq) before_all = false;
    if (before_all) return files[i];
    if (i == 0)
      return Error::failed("the binary logs of " + host + " no longer hold the first extra transaction " +
                           window.first.front().to_string() + " (its oldest binlog " + files[0] +
                           " starts after " + *text + "): they were purged");
  }
  return Error::failed("BINLOG_GTID_POS on " + host + " could not place any of its binary logs");
}

}  // namespace

std::string option_file_value(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

std::string client_option_file(const SqlAccount& account) {
  return "[client]\nuser=" + option_file_value(account.user) +
         "\npassword=" + option_file_value(account.password.value) + "\n";
}

Result<GtidWindow> gtid_window(const std::vector<ExtraTransactions>& extra) {
  std::map<std::uint32_t, std::pair<MariaGtid, MariaGtid>> per_domain;  // first extra, last extra
  for (const auto& e : extra) {
    auto first = parse_one(e.origin + "-" + std::to_string(e.first));
    auto last = parse_one(e.origin + "-" + std::to_string(e.last));
    if (!first || !last) return Error::invalid("'" + e.to_string() + "' is not a MariaDB GTID range");
    auto [it, fresh] = per_domain.try_emplace(first->domain, *first, *last);
    if (!fresh) {
      if (first->seq < it->second.first.seq) it->second.first = *first;
      if (last->seq > it->second.second.seq) it->second.second = *last;
    }
  }
  if (per_domain.empty()) return Error::invalid("no extra transactions to extract");
  GtidWindow w;
  for (const auto& [domain, range] : per_domain) {
    MariaGtid start = range.first;
    start.seq -= 1;  // mysqlbinlog's start position is exclusive (first >= 1)
    if (!w.start.empty()) w.start += ",";
    if (!w.stop.empty()) w.stop += ",";
    w.start += start.to_string();
    w.stop += range.second.to_string();
    w.first.push_back(range.first);
  }
  return w;
}

std::vector<std::string> mysqlbinlog_argv(const std::string& program, const std::string& defaults_file,
                                          const Endpoint& server, const std::string& result_file,
                                          const std::string& first_file, const std::string& start,
                                          const std::string& stop) {
  // --defaults-file must come first (no other option file, e.g. a ~/.my.cnf with [client] user, can override
  // ours); --protocol=TCP keeps a host named "localhost" off the socket.
  std::vector<std::string> argv{program,
                                "--defaults-file=" + defaults_file,
                                "--read-from-remote-server",
                                "--protocol=TCP",
                                "--host=" + server.host,
                                "--port=" + std::to_string(server.port),
                                "--to-last-log",
                                "--verbose",
                                "--start-position=" + start};
  if (!stop.empty()) argv.push_back("--stop-position=" + stop);
  argv.push_back("--result-file=" + result_file);
  argv.push_back(first_file);
  return argv;
}

BinlogScan scan_mysqlbinlog_output(std::istream& in, const std::vector<ExtraTransactions>& extra) {
  BinlogScan scan;
  std::string line;
  while (std::getline(in, line)) {
    // Event headers only ("#261124  6:47:52 server id 1  end_log_pos 400 CRC32 0x..\tGTID 0-1-9 trans");
    // decoded row values ("###   @2=...") and statements never count.
    if (line.size() < 2 || line[0] != '#' || line[1] < '0' || line[1] > '9') continue;
    if (line.find(" server id ") == std::string::npos) continue;
    auto at = line.find("GTID ");
    if (at == std::string::npos || (at > 0 && line[at - 1] != '\t' && line[at - 1] != ' ')) continue;
    std::string token = line.substr(at + 5, line.find(' ', at + 5) - (at + 5));
    auto g = parse_one(token);
    if (!g) continue;
    ++scan.transactions;
    if (extra.empty()) {
      ++scan.inside;
      continue;
    }
    bool inside = false;
    std::string origin = std::to_string(g->domain) + "-" + std::to_string(g->server_id);
    for (const auto& e : extra)
      if (e.origin == origin && g->seq >= e.first && g->seq <= e.last) inside = true;
    if (inside)
      ++scan.inside;
    else
      scan.outside.push_back(token);
  }
  return scan;
}

Result<SavedTransactions> save_extra_transactions(StepIo& io, const ExtractRequest& req) {
  if (!req.account) return Error::invalid("no SQL account to read the binlog with");
  const bool gtid_mode = !req.extra.empty();
  std::string first_file, start, stop;
  if (gtid_mode) {
    if (req.flavor != Flavor::MariaDB)
      return Error::invalid(
          "extracting by GTID is implemented for MariaDB only; run mysqlbinlog "
          "--read-from-remote-server --include-gtids=<the ranges above> by hand");
    auto window = gtid_window(req.extra);
    if (!window) return std::move(window).error();
    auto file = first_binlog(io, req.hostname, *window);
    if (!file) return std::move(file).error();
    first_file = *file;
    start = window->start;
    stop = window->stop;
  } else {
    if (req.after.empty()) return Error::invalid("neither extra GTIDs nor a binlog position to start from");
    first_file = req.after.file;
    start = std::to_string(req.after.pos);
  }

  auto dir = PrivateDir::create(req.directory);
  if (!dir) return std::move(dir).error();
  const std::string defaults = dir->path() + "/client.cnf";
  const std::string partial = dir->path() + "/" + req.file_name;
  if (auto s = create_private_file(defaults, client_option_file(*req.account)); !s)
    return std::move(s).error();
  // Created here so it is 0600 before mysqlbinlog opens it (it truncates, keeping the mode).
  if (auto s = create_private_file(partial, ""); !s) return std::move(s).error();

  CommandSpec spec;
  spec.argv = mysqlbinlog_argv(req.mysqlbinlog, defaults, io.endpoint_of(req.hostname), partial, first_file,
                               start, stop);
  spec.timeout = req.timeout;
  spec.mutates = false;  // reads the server's binlog; the file it writes is ours
  auto run = io.local(spec);
  if (!run) return Error::failed("mysqlbinlog could not be started: " + run.error().message);
  if (run->timed_out)
    return Error::timeout("mysqlbinlog timed out after " + std::to_string(req.timeout.count() / 1000) + " s");
  if (!run->succeeded()) {
    std::string why = last_line(run->err);
    if (why.empty()) why = last_line(run->out);
    std::string how = run->term_signal ? "was killed by signal " + std::to_string(run->term_signal)
                                       : "exited " + std::to_string(run->exit_code);
    return Error::failed("mysqlbinlog " + how + (why.empty() ? "" : ": " + why));
  }

  std::ifstream in(partial, std::ios::binary);
  if (!in) return Error::failed("cannot read mysqlbinlog's output " + partial);
  BinlogScan scan = scan_mysqlbinlog_output(in, req.extra);
  in.close();
  if (gtid_mode && scan.inside == 0)
    return Error::failed("mysqlbinlog found none of the extra transactions in the binary logs of " +
                         req.hostname + " (read from " + first_file + ")");

  SavedTransactions saved;
  saved.path = req.directory + "/" + req.file_name;
  saved.transactions = scan.inside;
  saved.outside = std::move(scan.outside);
  struct stat st {};
  if (::stat(partial.c_str(), &st) == 0) saved.bytes = static_cast<std::uint64_t>(st.st_size);
  if (auto s = sync_path(partial, false); !s) return std::move(s).error();
  if (::rename(partial.c_str(), saved.path.c_str()) != 0)
    return fs_error("cannot move the extract to " + saved.path, errno);
  if (auto s = sync_path(req.directory, true); !s) return std::move(s).error();
  return saved;
}

}  // namespace mhafb

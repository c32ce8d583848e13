// InotifyWatcher: one inotify instance read through an Asio stream_descriptor; the watched
// directories, their masks and the (watch, name) -> entry index are recomputed from scratch on every
// re-arm (re-arms are rare: a directory on the way came or went), so an event costs one look-up.
#include <utility>  // before Asio: GCC 12 + C++20 + Boost 1.74 misses std::exchange otherwise

#include "exec/inotify_watcher.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

namespace mhafb {

namespace asio = boost::asio;

namespace {

// A directory on the way to a target only matters when the next directory down comes or goes (or
// it goes itself): writes to other files there — /tmp, /var/tmp — must not wake the daemon.
constexpr std::uint32_t kAncestorMask =
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
// The target's own directory also reports writes to and attribute changes of the target.
constexpr std::uint32_t kTargetDirMask = kAncestorMask | IN_CLOSE_WRITE | IN_ATTRIB | IN_MODIFY;
constexpr std::uint32_t kSelfGone = IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;

// What a stat() shows of a path; a change in any field is a change worth reporting.
struct Signature {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  bool operator==(const Signature& o) const {
    return exists == o.exists && dev == o.dev && ino == o.ino && size == o.size &&
           mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
           ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
  }
};

Signature signature_of(const std::string& path) {
  struct stat st {};
  Signature s;
  if (::stat(path.c_str(), &st) != 0) return s;
  s.exists = true;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime = st.st_mtim;
  s.ctime = st.st_ctim;
  return s;
}

struct Entry {
  std::string path;
  std::vector<std::string> chain;  // "/", "/var", "/var/tmp": every ancestor directory, root first
  std::vector<std::string> next;   // next[i]: the name inside chain[i] on the way to path
  std::function<void()> on_change;
  std::size_t armed = 0;  // chain[0..armed) are watched
  Signature last;
};

Entry make_entry(const std::string& path, std::function<void()> on_change) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::absolute(p);
  p = p.lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();  // "dir/" → "dir"
  Entry e;
  e.path = p.string();
  e.on_change = std::move(on_change);
  std::filesystem::path current;
  for (auto it = p.begin(); it != p.end(); ++it) {
    current /= *it;
    if (std::next(it) == p.end()) break;
    e.chain.push_back(current.string());
    e.next.push_back(std::next(it)->string());
  }
  return e;
}

}  // namespace

struct InotifyWatcher::Impl : std::enable_shared_from_this<InotifyWatcher::Impl> {
  Impl(asio::io_context& io, InotifyWatcherOptions options) : io(io), options(options), timer(io) {}

  asio::io_context& io;
  InotifyWatcherOptions options;
  asio::steady_timer timer;  // touched only on the io_context's thread
  std::optional<asio::posix::stream_descriptor> descriptor;
  int fd = -1;  // owned by `descriptor`
  alignas(inotify_event) std::array<char, 64 * 1024> buffer{};

  mutable std::mutex mutex;  // guards everything below
  bool closed = false;
  bool polling_only = false;
  bool timer_running = false;
  std::vector<Entry> entries;
  std::map<std::string, int> dir_wd;
  std::map<int, std::set<std::string>> wd_dirs;

  // Which entries an event on a watch concerns, rebuilt on every re-arm so that an event costs a
  // look-up, not a scan of every entry's chain.
  struct Target {
    std::size_t entry;
    bool is_target;  // the name is the watched path itself, not a directory on its way
  };
  struct WatchIndex {
    std::map<std::string, std::vector<Target>, std::less<>> by_name;
    std::vector<std::size_t> through;  // entries whose armed chain passes through this watch
  };
  std::map<int, WatchIndex> index;

  void start() {
    fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      polling_only = true;
      return;
    }
    descriptor.emplace(io, fd);
    read_more();
  }

  void shutdown() {
    std::lock_guard lock(mutex);
    closed = true;
    boost::system::error_code ignored;
    if (descriptor) descriptor->close(ignored);
    timer.cancel();
  }

  void read_more() {
    descriptor->async_read_some(asio::buffer(buffer),
                                [self = shared_from_this()](const boost::system::error_code& ec,
                                                            std::size_t n) { self->on_read(ec, n); });
  }

  // Watches every existing directory on each entry's way; drops watches nobody needs any more.
  // Returns false when some directory exists but could not be watched.
  bool rearm_locked() {
    if (polling_only) return false;
    bool complete = true;
    // One mask per directory: the full one when it is some target's own directory, even if it is
    // also on the way to another.
    std::map<std::string, std::uint32_t> wanted;
    for (const auto& e : entries)
      for (std::size_t level = 0; level < e.chain.size(); ++level)
        wanted[e.chain[level]] |= level + 1 == e.chain.size() ? kTargetDirMask : kAncestorMask;
    std::map<std::string, int> new_dir_wd;
    std::set<int> added;
    for (auto& e : entries) {
      e.armed = 0;
      for (const auto& dir : e.chain) {
        auto known = new_dir_wd.find(dir);
        int wd = known != new_dir_wd.end() ? known->second : add_watch(dir, wanted[dir], added);
        if (wd < 0) {
          // Absent (or not a directory) is the normal "not created yet": its parent tells us.
          if (errno != ENOENT && errno != ENOTDIR) complete = false;
          break;
        }
        new_dir_wd[dir] = wd;
        ++e.armed;
      }
    }
    std::map<int, std::set<std::string>> new_wd_dirs;
    for (const auto& [dir, wd] : new_dir_wd)
      new_wd_dirs[wd].insert(dir);
    for (const auto& [wd, dirs] : wd_dirs)
      if (!new_wd_dirs.count(wd)) ::inotify_rm_watch(fd, wd);  // may already be gone: harmless
    dir_wd = std::move(new_dir_wd);
    wd_dirs = std::move(new_wd_dirs);
    index.clear();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      for (std::size_t level = 0; level < e.armed; ++level) {
        WatchIndex& w = index[dir_wd.at(e.chain[level])];
        if (w.through.empty() || w.through.back() != i) w.through.push_back(i);
        w.by_name[e.next[level]].push_back({i, level + 1 == e.chain.size()});
      }
    }
    return complete;
  }

  // The first add of a watch in a re-arm replaces whatever mask it had, so a directory that is no
  // longer anyone's target directory drops back to the ancestor mask. Two paths reaching the same
  // directory (a symlink, a bind mount) share one watch: the second adds its mask to the first's.
  int add_watch(const std::string& dir, std::uint32_t mask, std::set<int>& added) {
    int wd = ::inotify_add_watch(fd, dir.c_str(), mask);
    if (wd >= 0 && !added.insert(wd).second) wd = ::inotify_add_watch(fd, dir.c_str(), mask | IN_MASK_ADD);
    return wd;
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    std::vector<std::function<void()>> to_call;
    {
      std::lock_guard lock(mutex);
      if (closed || ec == asio::error::operation_aborted) return;
      if (ec) {
        // The inotify descriptor broke (should not happen): keep the promise by polling.
        polling_only = true;
        for (auto& e : entries)
          to_call.push_back(e.on_change);
      } else {
        to_call = handle_events_locked(n);
      }
    }
    if (!ec) read_more();
    ensure_timer();
    for (auto& f : to_call)
      f();
  }

  std::vector<std::function<void()>> handle_events_locked(std::size_t n) {
    std::set<std::size_t> fire, affected;
    bool rearm = false;
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer.data() + off);
      off += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        rearm = true;
        for (std::size_t i = 0; i < entries.size(); ++i)
          fire.insert(i);
        continue;
      }
      auto w = index.find(ev->wd);
      if (w == index.end()) continue;  // a watch we already dropped
      if (ev->mask & kSelfGone) {
        rearm = true;
        affected.insert(w->second.through.begin(), w->second.through.end());
        continue;
      }
      auto named = w->second.by_name.find(std::string_view(ev->len ? ev->name : ""));
      if (named == w->second.by_name.end()) continue;  // another file in that directory
      for (const Target& t : named->second) {
        if (t.is_target) {
          fire.insert(t.entry);
        } else {
          rearm = true;  // a directory on the way came or went
          affected.insert(t.entry);
        }
      }
    }
    if (rearm && !rearm_locked()) schedule_fallback();
    std::vector<std::function<void()>> calls;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      Entry& e = entries[i];
      bool direct = fire.count(i) > 0;
      bool check = rearm && affected.count(i) > 0;
      if (!direct && !check) continue;
      Signature now = signature_of(e.path);
      // After a re-arm: fire when it exists (it may have appeared unseen) or has just gone.
      if (direct || now.exists || e.last.exists) calls.push_back(e.on_change);
      e.last = now;
    }
    return calls;
  }

  // The stat() fallback: only while inotify is unavailable or some directory could not be watched.
  void schedule_fallback() {
    asio::post(io, [self = shared_from_this()] { self->ensure_timer(); });
  }

  bool needs_timer_locked() const {
    if (closed) return false;
    if (polling_only) return !entries.empty();
    for (const auto& e : entries) {
      // Watched down to the deepest existing directory? If something deeper exists, it was refused.
      if (e.armed < e.chain.size()) {
        struct stat st {};
        if (::stat(e.chain[e.armed].c_str(), &st) == 0) return true;
      }
    }
    return false;
  }

  void ensure_timer() {
    {
      std::lock_guard lock(mutex);
      if (timer_running || !needs_timer_locked()) return;
      timer_running = true;
    }
    timer.expires_after(options.fallback_interval);
    timer.async_wait(
        [self = shared_from_this()](const boost::system::error_code& ec) { self->on_timer(ec); });
  }

  void on_timer(const boost::system::error_code& ec) {
    std::vector<std::function<void()>> calls;
    {
      std::lock_guard lock(mutex);
      timer_running = false;
      if (ec || closed) return;
      rearm_locked();
      for (auto& e : entries) {
        Signature now = signature_of(e.path);
        if (!(now == e.last)) calls.push_back(e.on_change);
        e.last = now;
      }
    }
    ensure_timer();
    for (auto& f : calls)
      f();
  }

  void watch(const std::string& path, std::function<void()> on_change) {
    bool fire_now = false;
    std::function<void()> callback = on_change;
    {
      std::lock_guard lock(mutex);
      if (closed) return;
      entries.push_back(make_entry(path, std::move(on_change)));
      rearm_locked();
      entries.back().last = signature_of(entries.back().path);
      fire_now = entries.back().last.exists;
    }
    auto self = shared_from_this();
    asio::post(io, [self] { self->ensure_timer(); });
    // Arming counts as a re-arm: a flag that is already there is reported (on the loop, not here).
    if (fire_now)
      asio::post(io, [self, callback = std::move(callback)] {
        bool alive;
        {
          std::lock_guard lock(self->mutex);
          alive = !self->closed;
        }
        if (alive) callback();
      });
  }
};

InotifyWatcher::InotifyWatcher(asio::io_context& io, InotifyWatcherOptions options)
    : impl_(std::make_shared<Impl>(io, options)) {
  impl_->start();
}

// shutdown() throws only when a mutex or the timer fails; terminating then is the right outcome.
InotifyWatcher::~InotifyWatcher() {  // NOLINT(bugprone-exception-escape)
  impl_->shutdown();
}

void InotifyWatcher::watch(const std::string& path, std::function<void()> on_change) {
  impl_->watch(path, std::move(on_change));
}

bool InotifyWatcher::polling_only() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->polling_only;
}

}  // namespace mhafb

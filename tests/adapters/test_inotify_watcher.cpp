// InotifyWatcher against the real kernel: the flag appearing in an existing directory, in
// directories created after the watch started (including the mkdir-then-touch race), removal and
// re-creation and renaming of directories on the way, several paths at once, queue overflow, and
// callbacks on the io_context's thread; ancestor directories are watched for entries coming and
// going only (the kernel's own record of each watch's mask shows it), the flag's directory fully. Bounds are
// generous (5 s); the measured latency is printed for information only.
#include "exec/inotify_watcher.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace mhafb {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kBound = 5000ms;

// Counts callback invocations and lets the test wait for the next one.
class Counter {
 public:
  std::function<void()> callback() {
    return [this] {
      std::lock_guard lock(mutex_);
      ++count_;
      thread_ = std::this_thread::get_id();
      last_ = Clock::now();
      cv_.notify_all();
    };
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }
  // Waits until the count exceeds `seen`; returns false on timeout.
  bool wait_beyond(int seen, std::chrono::milliseconds limit = kBound) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return count_ > seen; });
  }
  Clock::time_point last() {
    std::lock_guard lock(mutex_);
    return last_;
  }
  std::thread::id thread() {
    std::lock_guard lock(mutex_);
    return thread_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
  Clock::time_point last_{};
  std::thread::id thread_{};
};

void touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  const bool created = fd >= 0;
  if (created) ::close(fd);
  ASSERT_TRUE(created) << path;
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), nullptr, 0), 0);
}

double ms_since(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

// The event mask of every inotify watch this process holds, by watched inode, as the kernel
// reports it in /proc/self/fdinfo (a wakeup the kernel never queues costs nothing, which no
// callback count can show).
std::map<ino_t, std::uint32_t> watch_masks() {
  std::map<ino_t, std::uint32_t> masks;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (fs::read_symlink(fd.path(), ec).string() != "anon_inode:inotify") continue;
    std::ifstream info("/proc/self/fdinfo/" + fd.path().filename().string());
    for (std::string line; std::getline(info, line);) {
      auto ino = line.find(" ino:"), mask = line.find(" mask:");
      if (line.rfind("inotify ", 0) != 0 || ino == std::string::npos || mask == std::string::npos) continue;
      masks[static_cast<ino_t>(std::stoull(line.substr(ino + 5), nullptr, 16))] |=
          static_cast<std::uint32_t>(std::stoul(line.substr(mask + 6), nullptr, 16));
    }
  }
  return masks;
}

std::optional<std::uint32_t> mask_of(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return std::nullopt;
  auto masks = watch_masks();
  auto it = masks.find(st.st_ino);
  if (it == masks.end()) return std::nullopt;
  return it->second;
}

constexpr std::uint32_t kWriteEvents = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB;
constexpr std::uint32_t kPathEvents = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

void append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app) << text;
}

class InotifyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mhafb-watch-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    watcher_.emplace(io_);
  }

  void TearDown() override {
    stop_loop();
    watcher_.reset();
    fs::remove_all(base_);
  }

  void start_loop() {
    loop_ = std::thread([this] { io_.run(); });
    loop_id_ = loop_.get_id();
  }

  void stop_loop() {
    guard_.reset();
    io_.stop();
    if (loop_.joinable()) loop_.join();
  }

  // Counters outlive the loop thread (TearDown stops it before members are destroyed).
  Counter& new_counter() { return counters_.emplace_back(); }

  std::deque<Counter> counters_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
  std::optional<InotifyWatcher> watcher_;
  std::thread loop_;
  std::thread::id loop_id_;
  std::string base_;
};

TEST_F(InotifyWatcherTest, FiresWhenTheFlagAppearsInAnExistingDirectoryOnTheLoopThread) {
  const std::string flag = base_ + "/mha.failover.complete";
  Counter& counter = new_counter();
  watcher_->watch(flag, counter.callback());
  ASSERT_FALSE(watcher_->polling_only());
  start_loop();

  auto t0 = Clock::now();
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(0)) << "no callback within 5 s";
  std::printf("[latency] flag created -> callback: %.3f ms\n", ms_since(t0, counter.last()));
  EXPECT_EQ(counter.thread(), loop_id_);
}

TEST_F(InotifyWatcherTest, FiresWhenAnExistingFlagIsTouchedAndWhenItIsRemoved) {
  const std::string flag = base_ + "/mha.failover.complete";
  touch(flag);
  Counter& counter = new_counter();
  watcher_->watch(flag, counter.callback());
  start_loop();
  // Already there when the watch starts: reported once the loop runs.
  ASSERT_TRUE(counter.wait_beyond(0));
  std::this_thread::sleep_for(50ms);

  int seen = counter.count();
  const timespec later[2] = {{0, UTIME_NOW}, {1'900'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, flag.c_str(), later, 0), 0);  // only the mtime changes
  ASSERT_TRUE(counter.wait_beyond(seen)) << "mtime change not reported";

  std::this_thread::sleep_for(50ms);
  seen = counter.count();
  ASSERT_EQ(::unlink(flag.c_str()), 0);
  ASSERT_TRUE(counter.wait_beyond(seen)) << "removal not reported";
}

TEST_F(InotifyWatcherTest, FiresForAFlagInDirectoriesCreatedAfterTheWatchStarted) {
  const std::string flag = base_ + "/work/mha/mha.failover.complete";
  Counter& counter = new_counter();
  watcher_->watch(flag, counter.callback());
  start_loop();

  fs::create_directory(base_ + "/work");
  std::this_thread::sleep_for(50ms);
  fs::create_directory(base_ + "/work/mha");
  std::this_thread::sleep_for(50ms);
  int seen = counter.count();
  auto t0 = Clock::now();
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(seen)) << "no callback within 5 s";
  std::printf("[latency] flag in new directories -> callback: %.3f ms\n", ms_since(t0, counter.last()));
}

TEST_F(InotifyWatcherTest, MkdirThenTouchImmediatelyIsNeverMissed) {
  // The directories and the flag appear faster than the watch on each new directory is added.
  start_loop();
  double worst = 0;
  for (int i = 0; i < 25; ++i) {
    const std::string dir = base_ + "/round" + std::to_string(i) + "/a/b";
    Counter& counter = new_counter();
    watcher_->watch(dir + "/flag", counter.callback());
    auto t0 = Clock::now();
    fs::create_directories(dir);
    touch(dir + "/flag");
    ASSERT_TRUE(counter.wait_beyond(0)) << "round " << i << ": no callback within 5 s";
    worst = std::max(worst, ms_since(t0, counter.last()));
  }
  std::printf("[latency] mkdir -p + touch -> callback, worst of 25: %.3f ms\n", worst);
}

TEST_F(InotifyWatcherTest, SurvivesRemovalAndRecreationOfItsDirectory) {
  const std::string dir = base_ + "/a/b";
  const std::string flag = dir + "/flag";
  Counter& counter = new_counter();
  watcher_->watch(flag, counter.callback());
  start_loop();

  fs::create_directories(dir);
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(0));
  std::this_thread::sleep_for(50ms);

  int seen = counter.count();
  fs::remove_all(base_ + "/a");
  ASSERT_TRUE(counter.wait_beyond(seen)) << "removal of the directory (and flag) not reported";
  std::this_thread::sleep_for(50ms);

  seen = counter.count();
  fs::create_directories(dir);
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(seen)) << "flag in the re-created directory not reported";
  std::this_thread::sleep_for(50ms);

  // And once more, to show the re-armed watch is a working one.
  seen = counter.count();
  ASSERT_EQ(::unlink(flag.c_str()), 0);
  ASSERT_TRUE(counter.wait_beyond(seen));
  std::this_thread::sleep_for(50ms);
  seen = counter.count();
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(seen));
}

TEST_F(InotifyWatcherTest, FollowsThePathWhenAnAncestorDirectoryIsRenamedAway) {
  // The watch on the old directory would follow the renamed inode; the path must be followed instead.
  const std::string flag = base_ + "/top/a/b/flag";
  fs::create_directories(base_ + "/top/a/b");
  Counter& counter = new_counter();
  watcher_->watch(flag, counter.callback());
  start_loop();

  fs::rename(base_ + "/top", base_ + "/top.old");
  std::this_thread::sleep_for(100ms);
  int seen = counter.count();
  fs::create_directories(base_ + "/top/a/b");
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(seen)) << "flag under the replacement directory not reported";
}

TEST_F(InotifyWatcherTest, WatchesSeveralPathsEachWithItsOwnCallback) {
  fs::create_directories(base_ + "/one");
  fs::create_directories(base_ + "/two");
  Counter& first = new_counter();
  Counter& second = new_counter();
  watcher_->watch(base_ + "/one/flag", first.callback());
  watcher_->watch(base_ + "/two/flag", second.callback());
  start_loop();

  touch(base_ + "/one/flag");
  ASSERT_TRUE(first.wait_beyond(0));
  // Unrelated events are filtered, not fanned out to every callback.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(second.count(), 0);

  touch(base_ + "/two/flag");
  ASSERT_TRUE(second.wait_beyond(0));
  // Noise next to a watched file does not fire it either.
  int before = first.count();
  touch(base_ + "/one/other-file");
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(first.count(), before);
}

TEST_F(InotifyWatcherTest, WritesInAncestorDirectoriesDoNotWakeItButTheFlagStillDoes) {
  // Like /tmp or /var/tmp on the way to MHA's work dir: busy with other people's files.
  const std::string work = base_ + "/work/mha";
  const std::string flag = work + "/mha.failover.complete";
  fs::create_directories(work);
  touch(base_ + "/neighbour.log");
  Counter& counter = new_counter();
  watcher_->watch(flag, counter.callback());
  start_loop();

  for (const std::string& ancestor : {base_, base_ + "/work"}) {
    auto mask = mask_of(ancestor);
    ASSERT_TRUE(mask) << ancestor << " is not watched";
    EXPECT_EQ(*mask & kWriteEvents, 0u) << ancestor << ": writes there would queue events";
    EXPECT_EQ(*mask & kPathEvents, kPathEvents) << ancestor;
  }
  auto own = mask_of(work);
  ASSERT_TRUE(own);
  EXPECT_EQ(*own & (kWriteEvents | kPathEvents), kWriteEvents | kPathEvents);

  for (int i = 0; i < 20; ++i) {
    append(base_ + "/neighbour.log", "line\n");
    touch(base_ + "/work/scratch-" + std::to_string(i % 3));
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(counter.count(), 0) << "a write next to the work dir woke the callback";

  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(0)) << "the flag appearing was not reported";
  std::this_thread::sleep_for(50ms);

  // The work dir removed and re-created: the watches are re-armed with the same masks.
  int seen = counter.count();
  fs::remove_all(base_ + "/work");
  ASSERT_TRUE(counter.wait_beyond(seen)) << "removal of the work dir (and flag) not reported";
  std::this_thread::sleep_for(50ms);
  seen = counter.count();
  fs::create_directories(work);
  std::this_thread::sleep_for(100ms);
  auto rearmed = mask_of(work);
  ASSERT_TRUE(rearmed) << "the re-created work dir is not watched";
  EXPECT_EQ(*rearmed & kWriteEvents, kWriteEvents);
  auto parent = mask_of(base_ + "/work");
  ASSERT_TRUE(parent);
  EXPECT_EQ(*parent & kWriteEvents, 0u);
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(seen)) << "flag in the re-created work dir not reported";
  std::this_thread::sleep_for(50ms);
  seen = counter.count();
  append(flag, "written");  // the flag's own content still counts
  ASSERT_TRUE(counter.wait_beyond(seen)) << "a write to the flag was not reported";
}

TEST_F(InotifyWatcherTest, ADirectoryThatIsOneFlagsHomeAndAnothersAncestorGetsBothMasks) {
  fs::create_directories(base_ + "/outer/inner");
  Counter& deep = new_counter();
  Counter& shallow = new_counter();
  watcher_->watch(base_ + "/outer/inner/flag", deep.callback());
  watcher_->watch(base_ + "/outer/flag", shallow.callback());
  start_loop();

  auto outer = mask_of(base_ + "/outer");
  ASSERT_TRUE(outer);
  EXPECT_EQ(*outer & (kWriteEvents | kPathEvents), kWriteEvents | kPathEvents);
  auto top = mask_of(base_);
  ASSERT_TRUE(top);
  EXPECT_EQ(*top & kWriteEvents, 0u);

  touch(base_ + "/outer/flag");
  ASSERT_TRUE(shallow.wait_beyond(0));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(deep.count(), 0);
  touch(base_ + "/outer/inner/flag");
  ASSERT_TRUE(deep.wait_beyond(0));
  int seen = shallow.count();
  append(base_ + "/outer/flag", "x");
  ASSERT_TRUE(shallow.wait_beyond(seen)) << "a write to the outer flag was not reported";
}

TEST_F(InotifyWatcherTest, QueueOverflowStillReportsTheFlag) {
  const std::string dir = base_ + "/busy";
  fs::create_directories(dir);
  Counter& counter = new_counter();
  watcher_->watch(dir + "/flag", counter.callback());
  // Nobody reads while far more events than the kernel queues (16384 by default) pile up, so the
  // flag's own event is dropped; only the overflow marker tells the watcher to look.
  int max_queued = 16384;
  std::ifstream("/proc/sys/fs/inotify/max_queued_events") >> max_queued;
  // Attribute changes alternating between two files: cheap, and never merged by the kernel.
  touch(dir + "/noise-a");
  touch(dir + "/noise-b");
  for (int i = 0; i < max_queued + 100; ++i)
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir + (i % 2 ? "/noise-a" : "/noise-b")).c_str(), nullptr, 0), 0);
  touch(dir + "/flag");
  start_loop();
  ASSERT_TRUE(counter.wait_beyond(0)) << "overflow did not lead to a callback";
}

TEST_F(InotifyWatcherTest, FallsBackToPollingWhenInotifyIsUnavailable) {
  // Exhaust this process's descriptors so inotify_init1 fails with EMFILE.
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old_limit), 0);
  rlimit low = old_limit;
  low.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fillers;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
    fillers.push_back(fd);
  std::optional<InotifyWatcher> polled;
  polled.emplace(io_, InotifyWatcherOptions{.fallback_interval = 100ms});
  for (int fd : fillers)
    ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &old_limit);
  ASSERT_TRUE(polled->polling_only());
  // Declared after `polled`, so the loop stops before `polled` goes, even when an assertion fails.
  std::shared_ptr<void> stop_first(nullptr, [this](void*) { stop_loop(); });

  const std::string flag = base_ + "/sub/flag";
  Counter& counter = new_counter();
  polled->watch(flag, counter.callback());
  start_loop();
  fs::create_directories(base_ + "/sub");
  touch(flag);
  ASSERT_TRUE(counter.wait_beyond(0)) << "polling did not notice the flag";
  std::this_thread::sleep_for(300ms);
  int seen = counter.count();  // no change, no further calls
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(counter.count(), seen);
  ASSERT_EQ(::unlink(flag.c_str()), 0);
  ASSERT_TRUE(counter.wait_beyond(seen)) << "polling did not notice the removal";
}

TEST_F(InotifyWatcherTest, DestroyingTheWatcherWithPendingWorkIsSafe) {
  Counter& counter = new_counter();
  touch(base_ + "/flag");
  watcher_->watch(base_ + "/flag", counter.callback());  // posts its initial report
  watcher_.reset();
  io_.run_for(200ms);
  EXPECT_EQ(counter.count(), 0);
}

}  // namespace
}  // namespace mhafb

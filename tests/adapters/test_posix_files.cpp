// PosixFiles against a real file system: stat of absent paths, bounded tail reads, atomic writes
// (mode, replacement, no leftovers, the old file intact when the write fails), and moves (into new
// directories, keeping mtime, across file systems). The full-disk, read-only and cross-device cases
// mount small tmpfs instances inside a private mount namespace of this test process.
#include "exec/posix_files.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace mhafb {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void spit(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

TimePoint from_timespec(timespec ts) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(ts.tv_sec) +
                                                                   std::chrono::nanoseconds(ts.tv_nsec)));
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class PosixFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Mounts made below vanish with this process, whatever happens to it.
    mounts_private_ =
        ::unshare(CLONE_NEWNS) == 0 && ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
  }

  void SetUp() override {
    char tmpl[] = "/tmp/mhafb-files-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    for (auto it = mounted_.rbegin(); it != mounted_.rend(); ++it)
      ::umount2(it->c_str(), MNT_DETACH);
    fs::remove_all(dir_);
  }

  // A tmpfs of `size` at dir_/name; empty string when this environment cannot mount.
  std::string mount_tmpfs(const std::string& name, const std::string& size) {
    if (!mounts_private_) return {};
    std::string at = dir_ + "/" + name;
    fs::create_directories(at);
    std::string options = "size=" + size;
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) != 0) return {};
    mounted_.push_back(at);
    return at;
  }

  static inline bool mounts_private_ = false;
  std::string dir_;
  std::vector<std::string> mounted_;
  PosixFiles files_;
};

TEST_F(PosixFilesTest, StatReportsAbsenceAsNotExistingAndPresenceWithSizeAndMtime) {
  auto missing = files_.stat(dir_ + "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->exists);

  spit(dir_ + "/plain", "x");
  auto under_file = files_.stat(dir_ + "/plain/child");  // ENOTDIR is absence too
  ASSERT_TRUE(under_file.ok());
  EXPECT_FALSE(under_file->exists);

  spit(dir_ + "/flag", "12345");
  const timespec times[2] = {{1'700'000'000, 0}, {1'700'000'123, 456'789'000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ + "/flag").c_str(), times, 0), 0);
  auto info = files_.stat(dir_ + "/flag");
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->exists);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->mtime, from_timespec(times[1]));
}

TEST_F(PosixFilesTest, ReadTailReturnsTheLastBytesOrTheWholeFile) {
  std::string log;
  for (int i = 0; i < 10000; ++i)
    log += "line " + std::to_string(i) + "\n";
  spit(dir_ + "/manager.log", log);

  auto whole = files_.read_tail(dir_ + "/manager.log", 1 << 20);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, log);

  auto tail = files_.read_tail(dir_ + "/manager.log", 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, log.substr(log.size() - 100));

  auto none = files_.read_tail(dir_ + "/manager.log", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");

  auto missing = files_.read_tail(dir_ + "/absent.log", 100);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_NE(missing.error().message.find("absent.log"), std::string::npos);

  auto directory = files_.read_tail(dir_, 100);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().kind, ErrorKind::Invalid);
}

TEST_F(PosixFilesTest, WriteAtomicCreatesAndReplacesWithTheGivenModeAndLeavesNoTempFiles) {
  const std::string path = dir_ + "/state.json";
  mode_t old_umask = ::umask(077);  // the mode argument must win over the daemon's umask
  auto created = files_.write_atomic(path, "{\"v\":1}", 0644);
  ::umask(old_umask);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(slurp(path), "{\"v\":1}");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ino_t first_inode = st.st_ino;

  auto replaced = files_.write_atomic(path, "{\"v\":2}", 0600);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(slurp(path), "{\"v\":2}");
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(st.st_ino, first_inode);  // a new file renamed over the old, never rewritten in place

  auto empty = files_.write_atomic(dir_ + "/empty", "", 0600);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(slurp(dir_ + "/empty"), "");

  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"empty", "state.json"}));
}

TEST_F(PosixFilesTest, WriteAtomicCreatesMissingDirectories) {
  // The state directory's history/ appears with its first report; nothing else creates it.
  const std::string path = dir_ + "/no/such/dir/state.json";
  ASSERT_TRUE(files_.write_atomic(path, "x", 0600).ok());
  auto back = files_.read_tail(path, 10);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "x");
}

TEST_F(PosixFilesTest, WriteAtomicUnderAFileFailsAndSaysWhere) {
  ASSERT_TRUE(files_.write_atomic(dir_ + "/plain", "x", 0600).ok());
  auto s = files_.write_atomic(dir_ + "/plain/state.json", "x", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(dir_ + "/plain"), std::string::npos) << s.error().message;
}

TEST_F(PosixFilesTest, FailedWriteLeavesTheOldFileIntactAndNoTempFile) {
  const std::string path = dir_ + "/state.json";
  ASSERT_TRUE(files_.write_atomic(path, "old", 0600).ok());

  // A file size limit makes write() fail part-way, like a full disk would.
  struct sigaction ign {
  }, old_action{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ign, &old_action), 0);
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto s = files_.write_atomic(path, std::string(100'000, 'n'), 0600);
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::sigaction(SIGXFSZ, &old_action, nullptr);

  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(path), std::string::npos);
  EXPECT_NE(s.error().message.find("unchanged"), std::string::npos) << s.error().message;
  EXPECT_EQ(slurp(path), "old");
  EXPECT_EQ(names_in(dir_), (std::vector<std::string>{"state.json"}));
}

TEST_F(PosixFilesTest, FullDiskIsAClearErrorAndTheOldFileStays) {
  std::string small = mount_tmpfs("small", "64k");
  if (small.empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  const std::string path = small + "/state.json";
  ASSERT_TRUE(files_.write_atomic(path, "old", 0600).ok());
  auto s = files_.write_atomic(path, std::string(1 << 20, 'n'), 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no space left"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("unchanged"), std::string::npos) << s.error().message;
  EXPECT_EQ(slurp(path), "old");
  EXPECT_EQ(names_in(small), (std::vector<std::string>{"state.json"}));
}

TEST_F(PosixFilesTest, ReadOnlyFileSystemIsAClearErrorAndTheOldFileStays) {
  std::string ro = mount_tmpfs("ro", "1m");
  if (ro.empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  const std::string path = ro + "/state.json";
  ASSERT_TRUE(files_.write_atomic(path, "old", 0600).ok());
  ASSERT_EQ(::mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0);
  auto s = files_.write_atomic(path, "new", 0600);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("read-only"), std::string::npos) << s.error().message;
  EXPECT_EQ(slurp(path), "old");
}

TEST_F(PosixFilesTest, MoveCreatesTheDestinationDirectoryAndKeepsMtime) {
  const std::string flag = dir_ + "/mha.failover.complete";
  spit(flag, "");
  const timespec times[2] = {{1'700'000'000, 0}, {1'700'000'500, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, flag.c_str(), times, 0), 0);

  const std::string archived = dir_ + "/archive/2024/mha.failover.complete.1";
  auto s = files_.move(flag, archived);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(fs::exists(flag));
  auto info = files_.stat(archived);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(info->exists);
  EXPECT_EQ(info->mtime, from_timespec(times[1]));

  auto missing = files_.move(flag, dir_ + "/elsewhere");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_NE(missing.error().message.find(flag), std::string::npos);
}

TEST_F(PosixFilesTest, MoveAcrossFileSystemsCopiesContentModeAndMtimeThenRemovesTheSource) {
  std::string other = mount_tmpfs("other-fs", "1m");
  if (other.empty()) GTEST_SKIP() << "cannot mount a tmpfs here";
  const std::string from = other + "/manager.log";
  spit(from, "content that crosses a device boundary\n");
  ASSERT_EQ(::chmod(from.c_str(), 0640), 0);
  const timespec times[2] = {{1'700'000'000, 0}, {1'700'000'777, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, from.c_str(), times, 0), 0);

  const std::string to = dir_ + "/archive/manager.log.1";
  auto s = files_.move(from, to);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_FALSE(fs::exists(from));
  EXPECT_EQ(slurp(to), "content that crosses a device boundary\n");
  struct stat st {};
  ASSERT_EQ(::stat(to.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(from_timespec(st.st_mtim), from_timespec(times[1]));
  EXPECT_EQ(names_in(dir_ + "/archive"), (std::vector<std::string>{"manager.log.1"}));
}

}  // namespace
}  // namespace mhafb

// The pieces of the extraction of a diverged old master's extra transactions (binlog_extract): the
// option file that carries the password (quoted the way the client library reads it back), the GTID
// window handed to mysqlbinlog, and the count of GTID events in its output (real MariaDB 10.11
// mysqlbinlog --verbose output, captured from a throwaway server).
#include <gtest/gtest.h>

#include <sstream>

#include "steps/binlog_extract.hpp"

namespace mhafb {
namespace {

TEST(DivergenceExtract, OptionFileValuesSurviveTheClientLibrarysReader) {
  // '#' and ';' start comments outside quotes; quotes and backslashes are escapes inside them; the
  // trailing space would be trimmed without the quotes. This value was checked against mysqlbinlog.
  EXPECT_EQ(option_file_value("p#a\"s's\\ w;d "), "\"p#a\\\"s's\\\\ w;d \"");
  EXPECT_EQ(option_file_value("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
  EXPECT_EQ(option_file_value(""), "\"\"");
  SqlAccount account{"we ird", {"s3cr#t", "test"}};
  EXPECT_EQ(client_option_file(account), "[client]\nuser=\"we ird\"\npassword=\"s3cr#t\"\n");
}

ExtraTransactions range(std::string origin, std::uint64_t first, std::uint64_t last) {
  ExtraTransactions e;
  e.origin = std::move(origin);
  e.first = first;
  e.last = last;
  return e;
}

TEST(DivergenceExtract, GtidWindowStartsJustBeforeTheFirstExtraPerDomain) {
  auto w = gtid_window({range("0-1", 14, 16)});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->start, "0-1-13");
  EXPECT_EQ(w->stop, "0-1-16");
  ASSERT_EQ(w->first.size(), 1u);
  EXPECT_EQ(w->first[0].to_string(), "0-1-14");

  // An origin the new master never saw starts at 1 (window start 0); two origins in one domain make
  // one window from the lowest first to the highest last.
  w = gtid_window({range("1-1", 1, 4), range("0-1", 14, 16), range("0-3", 12, 12)});
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(w->start, "0-3-11,1-1-0");
  EXPECT_EQ(w->stop, "0-1-16,1-1-4");
}

TEST(DivergenceExtract, GtidWindowRefusesWhatIsNotMariaDb) {
  EXPECT_FALSE(gtid_window({range("3e11fa47-71ca-11e1-9e33-c80aa9429562", 14, 16)}));
  EXPECT_FALSE(gtid_window({}));
}

TEST(DivergenceExtract, ArgvReadsRemotelyWithThePasswordInTheOptionFileOnly) {
  auto argv =
      mysqlbinlog_argv("mysqlbinlog", "/s/history/.extract-x/client.cnf", Endpoint{"db1.example", 3307},
                       "/s/history/.extract-x/out.sql", "mysql-bin.000002", "0-1-13", "0-1-16");
  const std::vector<std::string> want{"mysqlbinlog",
                                      "--defaults-file=/s/history/.extract-x/client.cnf",
                                      "--read-from-remote-server",
                                      "--protocol=TCP",
                                      "--host=db1.example",
                                      "--port=3307",
                                      "--to-last-log",
                                      "--verbose",
                                      "--start-position=0-1-13",
                                      "--stop-position=0-1-16",
                                      "--result-file=/s/history/.extract-x/out.sql",
                                      "mysql-bin.000002"};
  EXPECT_EQ(argv, want);
}

// mysqlbinlog --verbose --read-from-remote-server --to-last-log --start-position=0-1-9
// --stop-position=0-1-10 mysql-bin.000002 on MariaDB 10.11.19 (BINLOG base64 shortened).
const char* kCaptured = R"(/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
DELIMITER /*!*/;
# at 4
#700101  0:00:00 server id 1  end_log_pos 0 	Rotate to mysql-bin.000002  pos: 4
# at 4
#261124  6:47:52 server id 1  end_log_pos 256 CRC32 0x4a00d0d9 	Start: binlog v 4, server v 10.11.19-MariaDB-0+deb12u1-log created 261124  6:47:52
# at 256
#261124  6:47:52 server id 1  end_log_pos 315 CRC32 0x6ddd87db 	Gtid list [0-1-7,
# 0-2-8]
# at 315
#261124  6:47:52 server id 1  end_log_pos 358 CRC32 0xa9b71243 	Binlog checkpoint mysql-bin.000001
# at 358
#700101  0:00:00 server id 1  end_log_pos 583 CRC32 0xda74bc86 	Gtid list [0-1-9]
# at 444
#261124  6:47:52 server id 1  end_log_pos 668 CRC32 0xe94a1ec3 	GTID 0-1-10 trans
/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;
/*M!100001 SET @@session.server_id=1*//*!*/;
/*M!100001 SET @@session.gtid_seq_no=10*//*!*/;
START TRANSACTION
/*!*/;
#261124  6:47:52 server id 1  end_log_pos 730 CRC32 0xfcff7189 	Annotate_rows:
#Q> INSERT INTO t.x(note) VALUES('extra-2 GTID 0-1-99')
#261124  6:47:52 server id 1  end_log_pos 820 CRC32 0xf20fd3b7 	Write_rows: table id 18 flags: STMT_END_F
BINLOG '
GDMFaxMBAAAALAAAAAYDAAAAABIAAAAAAAEAAXQAAXgAAgMPAjIAAnqHKdA=
'/*!*/;
### INSERT INTO `t`.`x`
### SET
###   @1=6
###   @2='extra-2 GTID 0-1-99'
# Number of rows: 1
#261124  6:47:52 server id 1  end_log_pos 851 CRC32 0x8761cc4d 	Xid = 19
COMMIT/*!*/;
#261124  6:47:53 server id 3  end_log_pos 900 CRC32 0x8761cc4e 	GTID 0-3-11 ddl
DELIMITER ;
# End of log file
)";

TEST(DivergenceExtract, ScanCountsGtidEventHeadersOnly) {
  std::istringstream in(kCaptured);
  BinlogScan scan = scan_mysqlbinlog_output(in, {range("0-1", 9, 10)});
  EXPECT_EQ(scan.transactions, 2u)
      << "the GTID-looking text in the row values and the Gtid list events never count";
  EXPECT_EQ(scan.inside, 1u);
  EXPECT_EQ(scan.outside, std::vector<std::string>{"0-3-11"});

  std::istringstream all(kCaptured);
  scan = scan_mysqlbinlog_output(all, {});
  EXPECT_EQ(scan.inside, 2u) << "position mode: every GTID counts";
  EXPECT_TRUE(scan.outside.empty());
}

}  // namespace
}  // namespace mhafb

// ResultSet::get(): case-insensitive column look-up, the first of duplicate names, NULL and absent
// columns, short rows; the same answers from the sorted index (wide result sets such as SHOW SLAVE
// STATUS) as from a scan, also after a copy, a move or a change of the column list.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ports/sql_port.hpp"

using namespace mhafb;

namespace {

// A result set with `n` columns named C0..C(n-1) and one row holding "v0".."v(n-1)".
ResultSet wide(std::size_t n) {
  ResultSet r;
  SqlRow row;
  for (std::size_t i = 0; i < n; ++i) {
    r.columns.push_back("Col_" + std::to_string(i));
    row.push_back("v" + std::to_string(i));
  }
  r.rows.push_back(std::move(row));
  return r;
}

}  // namespace

TEST(ResultSet, NarrowSetsFindColumnsCaseInsensitively) {
  ResultSet r{{"File", "Position"}, {{std::string("bin.000001"), std::string("42")}}};
  EXPECT_EQ(r.get(0, "file"), "bin.000001");
  EXPECT_EQ(r.get(0, "POSITION"), "42");
  EXPECT_FALSE(r.get(0, "Binlog_Do_DB"));
  EXPECT_FALSE(r.get(1, "File"));
}

TEST(ResultSet, WideSetsAgreeWithAScanForEveryColumn) {
  for (std::size_t n : {7u, 8u, 9u, 60u}) {
    ResultSet r = wide(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::string name = "COL_" + std::to_string(i);
      EXPECT_EQ(r.get(0, name), "v" + std::to_string(i)) << n << " columns, " << name;
    }
    EXPECT_FALSE(r.get(0, "Col_")) << n;
    EXPECT_FALSE(r.get(0, "Col_" + std::to_string(n))) << n;
    EXPECT_FALSE(r.get(0, "")) << n;
  }
}

TEST(ResultSet, DuplicateNamesGiveTheFirstColumnLikeAScan) {
  ResultSet r = wide(20);
  r.columns[15] = "col_3";
  r.columns[2] = "COL_3";
  r.rows[0][15] = "late";
  r.rows[0][2] = "early";
  EXPECT_EQ(r.get(0, "Col_3"), "early");
}

TEST(ResultSet, NullAndShortRowsAreAbsent) {
  ResultSet r = wide(12);
  r.rows[0][5] = std::nullopt;
  r.rows.push_back({std::string("only")});
  EXPECT_FALSE(r.get(0, "col_5"));
  EXPECT_EQ(r.get(1, "col_0"), "only");
  EXPECT_FALSE(r.get(1, "col_11"));
}

TEST(ResultSet, CopiesMovesAndAGrownColumnListAnswerForThemselves) {
  ResultSet r = wide(10);
  EXPECT_EQ(r.get(0, "col_9"), "v9");  // builds the index

  ResultSet copy = r;
  copy.columns[9] = "Renamed";  // the copy's own columns, not the original's index
  EXPECT_EQ(copy.get(0, "renamed"), "v9");
  EXPECT_FALSE(copy.get(0, "col_9"));
  EXPECT_EQ(r.get(0, "col_9"), "v9");

  ResultSet moved = std::move(copy);
  EXPECT_EQ(moved.get(0, "RENAMED"), "v9");

  r.columns.push_back("Extra");
  r.rows[0].push_back(std::string("more"));
  EXPECT_EQ(r.get(0, "extra"), "more");
  EXPECT_EQ(r.get(0, "col_0"), "v0");

  ResultSet assigned;
  assigned = r;
  assigned.columns[0] = "First";
  EXPECT_EQ(assigned.get(0, "first"), "v0");
}

// quote_string / quote_identifier: the exact escapes, and round trips through a decoder that follows
// the server's lexer rules for quoted strings and identifiers (with backslash escapes on). The same
// literals go through a real server in tests/adapters/test_mariadb_sql_port.cpp.
#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

#include "sql/sql_quote.hpp"

namespace mhafb {
namespace {

// Reads one single-quoted literal at the start of `text` the way the server's lexer does and
// returns its value, or nullopt when the literal does not span exactly the whole text.
std::optional<std::string> decode_string_literal(const std::string& text) {
  if (text.size() < 2 || text.front() != '\'') return std::nullopt;
  std::string out;
  std::size_t i = 1;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      char e = text[i + 1];
      switch (e) {
        case '0':
          out.push_back('\0');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'Z':
          out.push_back('\x1a');
          break;
        case '%':
          out += "\\%";
          break;
        case '_':
          out += "\\_";
          break;
        default:
          out.push_back(e);
      }
      i += 2;
    } else if (c == '\'') {
      if (i + 1 < text.size() && text[i + 1] == '\'') {
        out.push_back('\'');
        i += 2;
      } else {
        return i + 1 == text.size() ? std::optional<std::string>(out) : std::nullopt;
      }
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return std::nullopt;  // unterminated
}

std::optional<std::string> decode_identifier(const std::string& text) {
  if (text.size() < 2 || text.front() != '`') return std::nullopt;
  std::string out;
  std::size_t i = 1;
  while (i < text.size()) {
    if (text[i] == '`') {
      if (i + 1 < text.size() && text[i + 1] == '`') {
        out.push_back('`');
        i += 2;
        continue;
      }
      return i + 1 == text.size() ? std::optional<std::string>(out) : std::nullopt;
    }
    out.push_back(text[i++]);
  }
  return std::nullopt;
}

TEST(QuoteString, EscapesExactlyTheSpecialBytes) {
  EXPECT_EQ(quote_string(""), "''");
  EXPECT_EQ(quote_string("abc"), "'abc'");
  EXPECT_EQ(quote_string(std::string(1, '\0')), "'\\0'");
  EXPECT_EQ(quote_string("\n"), "'\\n'");
  EXPECT_EQ(quote_string("\r"), "'\\r'");
  EXPECT_EQ(quote_string("\x1a"), "'\\Z'");
  EXPECT_EQ(quote_string("\\"), "'\\\\'");
  EXPECT_EQ(quote_string("'"), "'\\''");
  EXPECT_EQ(quote_string("\""), "'\\\"'");
  EXPECT_EQ(quote_string("\t%_"), "'\t%_'");  // only the listed bytes are escaped
}

TEST(QuoteString, EveryByteValueAloneRoundTrips) {
  const std::string special = std::string("\0\n\r\x1a\\'\"", 7);
  for (int b = 0; b < 256; ++b) {
    const std::string value(1, static_cast<char>(b));
    const std::string quoted = quote_string(value);
    const bool escaped = special.find(static_cast<char>(b)) != std::string::npos;
    EXPECT_EQ(quoted.size(), escaped ? 4u : 3u) << "byte " << b;
    EXPECT_EQ(decode_string_literal(quoted), value) << "byte " << b;
  }
}

TEST(QuoteString, EveryPairOfBytesRoundTrips) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string value{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(decode_string_literal(quote_string(value)), value) << "bytes " << a << "," << b;
    }
  }
}

TEST(QuoteString, BodyHoldsNoRawSpecialByte) {
  std::string all;
  for (int b = 0; b < 256; ++b)
    all.push_back(static_cast<char>(b));
  const std::string quoted = quote_string(all + all);
  const std::string body = quoted.substr(1, quoted.size() - 2);
  // Outside escape pairs the body has no quote, backslash, NUL, CR, LF or Ctrl-Z.
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\') {
      ++i;
      continue;
    }
    EXPECT_EQ(std::string("\0\n\r\x1a'\"", 6).find(body[i]), std::string::npos) << "at " << i;
  }
  EXPECT_EQ(decode_string_literal(quoted), all + all);
}

TEST(QuoteString, HostileStringsStayOneLiteral) {
  const std::string hostile[] = {
      "'; DROP TABLE x; --",
      "\\'; DROP TABLE x; --",
      "\\",
      "\\\\'",
      "' OR '1'='1",
      "''",
      "\"\"",
      "a\\",
      "x' /*",
      std::string("nul\0inside'", 11),
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xac",                     // valid UTF-8, multi-byte
      "\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x90\x28\xbc\xff\xfe\x5c\x27",  // invalid UTF-8 ending in \ and '
      "\xbf\x5c\x27",  // the GBK-style 0xbf5c sequence (harmless in utf8mb4)
  };
  for (const auto& s : hostile) {
    const std::string quoted = quote_string(s);
    EXPECT_EQ(decode_string_literal(quoted), s) << quoted;
  }
  EXPECT_EQ(quote_string("'; DROP TABLE x; --"), "'\\'; DROP TABLE x; --'");
}

TEST(QuoteString, RandomStringsRoundTrip) {
  std::mt19937 rng(20261124);  // NOLINT(cert-msc51-cpp): a fixed seed keeps a failure reproducible
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(0, 64);
  for (int n = 0; n < 20000; ++n) {
    std::string s(static_cast<std::size_t>(length(rng)), '\0');
    for (auto& c : s)
      c = static_cast<char>(byte(rng));
    ASSERT_EQ(decode_string_literal(quote_string(s)), s);
  }
}

TEST(QuoteIdentifier, DoublesBackticks) {
  EXPECT_EQ(quote_identifier("t"), "`t`");
  EXPECT_EQ(quote_identifier(""), "``");
  EXPECT_EQ(quote_identifier("a`b"), "`a``b`");
  EXPECT_EQ(quote_identifier("`"), "````");
  EXPECT_EQ(quote_identifier("x`; DROP TABLE y; --"), "`x``; DROP TABLE y; --`");
  // Quotes and backslashes mean nothing inside backticks.
  EXPECT_EQ(quote_identifier("it's \\ \"q\""), "`it's \\ \"q\"`");
}

TEST(QuoteIdentifier, EveryByteAndHostileNamesRoundTrip) {
  for (int b = 1; b < 256; ++b) {
    const std::string name{'a', static_cast<char>(b), 'z'};
    EXPECT_EQ(decode_identifier(quote_identifier(name)), name) << "byte " << b;
  }
  for (const std::string name : {"``", "a``b`", "`; DROP TABLE x; --", "\xff\xfe`\\"}) {
    EXPECT_EQ(decode_identifier(quote_identifier(name)), name);
  }
}

}  // namespace
}  // namespace mhafb

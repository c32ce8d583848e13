// Quoting of values and names that go into SQL text built from configuration (host names, user
// names, passwords for CHANGE MASTER). The engine builds statements as text because the server's
// replication commands take no placeholders; these two functions are what keeps that text safe.
//
// The rules are MariaDB's/MySQL's with backslash escapes enabled. They are correct only when
//  - the session does not run with sql_mode NO_BACKSLASH_ESCAPES (MariaDbSqlPort guarantees this
//    on every connection it hands out), and
//  - the connection character set never has a backslash or quote byte inside a multi-byte
//    character (true for utf8mb4, latin1 and binary; MariaDbSqlPort always uses utf8mb4).
#pragma once

#include <string>
#include <string_view>

namespace mhafb {

// A single-quoted string literal: NUL, \n, \r, \x1a (Ctrl-Z), \, ' and " are backslash-escaped;
// every other byte is copied as is. Prefix it with `_binary` to have the server read the bytes
// back unchanged whatever they are (invalid UTF-8 included).
std::string quote_string(std::string_view value);

// A backtick-quoted identifier with every backtick doubled.
std::string quote_identifier(std::string_view name);

}  // namespace mhafb

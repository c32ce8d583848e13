// Every SQL statement the engine sends, built in one place for both dialects: MariaDB (SHOW SLAVE
// STATUS, CHANGE MASTER, master_use_gtid) and MySQL (8.0.23+: SHOW REPLICA STATUS, CHANGE REPLICATION
// SOURCE, SOURCE_AUTO_POSITION; older: the MASTER forms). Values from config are quoted with
// sql_quote; passwords appear only in `text`, never in `audit_text`.
#pragma once

#include <cstdint>
#include <string>

#include "core/snapshot.hpp"
#include "ports/sql_port.hpp"

namespace mhafb::sqlstmt {

// True for MySQL versions that have the REPLICA/SOURCE statement forms.
bool mysql_has_replica_syntax(const std::string& version);
Flavor flavor_of_version(const std::string& version);

// Discovery (read-only).
SqlStatement server_facts();  // version, server_id, read_only, log_bin
SqlStatement gtid_state(Flavor flavor);
SqlStatement master_status();
SqlStatement replica_status(Flavor flavor, const std::string& version);
// Other sessions' statements running for at least `min_seconds`, with the filters MHA's online switch
// applies before it refuses (no sleeping or connecting sessions, binlog dumps, system threads):
// columns id, user, command, time, info (the first 200 characters of the statement).
SqlStatement running_statements(int min_seconds);

// Actions.
SqlStatement set_read_only(bool on);
SqlStatement stop_replica(Flavor flavor, const std::string& version);
SqlStatement start_replica(Flavor flavor, const std::string& version);
// MariaDB: the replica's own binlog position is where it resumes on the new master.
SqlStatement gtid_slave_pos_from_binlog_pos();
SqlStatement change_source_gtid(Flavor flavor, const std::string& version, const std::string& host, int port,
                                const std::string& user, const std::string& password);
SqlStatement change_source_position(Flavor flavor, const std::string& version, const std::string& host,
                                    int port, const std::string& user, const std::string& password,
                                    const BinlogPosition& at);
SqlStatement skip_one_event(Flavor flavor, const std::string& version);
// Forgets the replication configuration entirely (undoing a half-done switch's repointing).
SqlStatement reset_replica_all(Flavor flavor, const std::string& version);

}  // namespace mhafb::sqlstmt

// Discovery: builds the ClusterSnapshot with read-only probes (SQL facts, GTID state, binlog end,
// replication status of every server; the MHA flag and health files). Never changes anything.
#pragma once

#include "config/cluster_config.hpp"
#include "core/snapshot.hpp"
#include "ports/files_port.hpp"
#include "ports/sql_port.hpp"

namespace mhafb {

ServerSnapshot probe_server(const MhaServer& server, SqlPort& sql);
MhaSnapshot probe_mha_files(const MhaAppConfig& mha, FilesPort& files);
ClusterSnapshot discover(const ClusterConfig& config, SqlPort& sql, FilesPort& files, TimePoint now);
// Parses one row of SHOW SLAVE STATUS / SHOW REPLICA STATUS.
ReplicaStatus parse_replica_status(const ResultSet& rs);

}  // namespace mhafb

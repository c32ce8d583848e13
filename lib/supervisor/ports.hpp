// The bundle of ports one cluster's engine runs on. The daemon passes the production adapters;
// unit tests pass scripted fakes.
#pragma once

#include "ports/audit_sink.hpp"
#include "ports/clock_port.hpp"
#include "ports/command_port.hpp"
#include "ports/files_port.hpp"
#include "ports/remote_shell_port.hpp"
#include "ports/sql_port.hpp"

namespace mhafb {

struct Ports {
  SqlPort& sql;
  CommandPort& commands;
  RemoteShellPort& remote;
  ClockPort& clock;
  FilesPort& files;
  AuditSink& audit;
};

}  // namespace mhafb

#!/usr/bin/perl
# Prints what MHA 0.58's own MHA::Config makes of app configs, one line per server, so the tests can
# compare mha-failback's reading with the real one.
# Usage: perl mha_dump.pl APP_CONF[:GLOBAL_CONF] ...   (one "== ARG" header per argument)
use strict;
use warnings;
use MHA::Config;

my @keys =
  qw(hostname port ssh_host ssh_port ssh_user candidate_master no_master ignore_fail master_binlog_dir remote_workdir manager_workdir manager_log user password repl_user repl_password use_gtid_auto_pos);
for my $arg (@ARGV) {
  my ( $file, $global ) = split( /:/, $arg, 2 );
  $global = "/nonexistent/masterha_default.cnf" unless defined $global && $global ne '';
  print "== $arg\n";
  my ( $servers, $binlogs ) =
    eval { MHA::Config->new( file => $file, globalfile => $global )->read_config() };
  if ($@) {
    print "ERROR\n";
    next;
  }
  for my $s (@$servers) {
    print join( "\t", "server", $s->{id},
      map { defined $s->{$_} ? "$_=$s->{$_}" : "$_=" } @keys ), "\n";
  }
}

// Fuzz target: every parser of MHA tool output and MHA files (failover report from the manager log,
// check_ssh, check_repl, the online switch, the health file, check_status, the known-bug detector,
// the password masking). Each input goes through all of them: a manager log holds what several look
// for. Input: the text, optionally preceded by a line "rc=N" giving the exit code of the tool; without
// it the exit-code-dependent parsers run with 0, 1 and 10 (success, failure, partial).
//
// Properties beyond "no crash, hang or leak" (the parsers' documented contract): every string that
// leaves a parser is valid UTF-8 (D-Bus needs it) and bounded, warnings are at most 50, text copied
// from the input is already masked (masking it again reveals nothing new), masking is idempotent, and the
// ok/outcome verdicts agree with the exit code where MHA's exit code is trustworthy.
#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "mha/output_parsers.hpp"

namespace {

using namespace mhafb;

// A summary is one kept line (at most 1000 bytes + "...") inside a fixed sentence of the parser.
constexpr std::size_t kMaxSummary = 1400;

// Text copied out of the input has been through the masking: masking it again changes nothing. One
// exception that is no leak: a line cut at 1000 bytes gets "..." after its masking, which masking again
// takes for part of a value the cut left at the end ("--password=xxx...").
bool already_masked(std::string_view s) {
  if (s.ends_with("xxx...")) s.remove_suffix(3);
  return redact_mha_secrets(s) == s;
}

// Summaries may join masked pieces (a value whose quote never closes, MASTER_PASSWORD='xxx, then
// runs into the next piece when the whole is masked again); each piece must be masked. The joins are
// the parsers' own: check_ssh's "<failed connection line> (<ssh's complaint>)" and the switch's
// "masterha_master_switch printed '<line>' but exited N".
bool pieces_masked(std::string_view s) {
  if (already_masked(s)) return true;
  if (s.ends_with(")"))
    for (std::size_t p = s.find(" ("); p != std::string_view::npos; p = s.find(" (", p + 1))
      if (already_masked(s.substr(0, p)) && already_masked(s.substr(p + 2, s.size() - p - 3))) return true;
  constexpr std::string_view kPrinted = "masterha_master_switch printed '";
  if (s.starts_with(kPrinted))
    if (std::size_t q = s.rfind("' but exited "); q != std::string_view::npos && q >= kPrinted.size())
      return already_masked(s.substr(kPrinted.size(), q - kPrinted.size()));
  return false;
}

void check_kept(std::string_view field, const std::string& s, std::size_t max = kMaxSummary) {
  fuzz::check_text(field, s, max);
  if (!pieces_masked(s))
    fuzz::fail(std::string(field) + " was not masked", s + "\n  masked again: " + redact_mha_secrets(s));
}

void check_failover(std::string_view text) {
  FailoverReport r = parse_failover_report(text);
  check_kept("failover summary", r.summary);
  check_kept("dead_master_host", r.dead_master_host);
  check_kept("new_master_host", r.new_master_host);
  check_kept("new_master_ip", r.new_master_ip);
  if (r.warnings.size() > 50) fuzz::fail("at most 50 warnings", std::to_string(r.warnings.size()));
  for (const auto& w : r.warnings)
    check_kept("failover warning", w);
  if (r.promotion) {
    check_kept("promotion host", r.promotion->host);
    check_kept("promotion ip", r.promotion->ip);
    check_kept("promotion file", r.promotion->position.file);
    if (r.promotion->port < 0 || r.promotion->port > 65535)
      fuzz::fail("promotion port in range", std::to_string(r.promotion->port));
  }
  if (r.latest_replica_position) check_kept("latest replica file", r.latest_replica_position->file);
  for (int port : {r.dead_master_port, r.new_master_port})
    if (port < 0 || port > 65535) fuzz::fail("ports in range", std::to_string(port));
  if (r.outcome != FailoverOutcome::Unknown && r.summary.empty())
    fuzz::fail("a failover outcome comes with a summary", text.substr(0, 200));
}

void check_with_exit_code(std::string_view text, int rc) {
  ReplCheckResult repl = parse_check_repl(text, rc);
  check_kept("check_repl summary", repl.summary);
  if (repl.ok && rc != 0) fuzz::fail("check_repl ok only with exit 0", std::to_string(rc));

  SwitchResult sw = parse_master_switch(text, rc);
  check_kept("switch summary", sw.summary);
  if (sw.outcome == SwitchOutcome::Success && rc != 0) fuzz::fail("switch success only with exit 0", "");
  if (sw.outcome == SwitchOutcome::Partial && rc != 10) fuzz::fail("switch partial only with exit 10", "");

  ManagerStatus st = parse_check_status(text, rc);
  check_kept("check_status summary", st.summary);
  check_kept("check_status master", st.master);
  fuzz::check_text("check_status name", st.name, 64);
  if (st.code != rc) fuzz::fail("check_status code is the exit code", std::to_string(st.code));
  if (st.running_ok && (rc != 0 || st.name != "PING_OK")) fuzz::fail("running_ok only with 0:PING_OK", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = fuzz::as_text(data, size);
  std::vector<int> codes{0, 1, 10};
  if (text.substr(0, 3) == "rc=") {
    std::size_t nl = text.find('\n');
    std::string_view num = text.substr(3, nl == std::string_view::npos ? std::string_view::npos : nl - 3);
    int rc = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), rc);
    if (ec == std::errc() && p == num.data() + num.size()) {
      codes = {rc};
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    }
  }

  check_failover(text);

  SshCheckResult ssh = parse_check_ssh(text);
  check_kept("check_ssh summary", ssh.summary);

  for (int rc : codes)
    check_with_exit_code(text, rc);

  if (auto h = parse_health_file(text)) {
    check_kept("health master", h->master);
    fuzz::check_text("health name", h->name, 64);
    if (h->pid <= 0) fuzz::fail("a health file's pid is positive", std::to_string(h->pid));
  } else {
    fuzz::check_text("health error", h.error().message, kMaxSummary);
  }

  std::string bugs = explain_known_mha_bugs(text);
  fuzz::check_text("known bug explanation", bugs, 4096);

  // Masking is idempotent.
  std::string masked = redact_mha_secrets(text);
  if (redact_mha_secrets(masked) != masked) fuzz::fail("masking is idempotent", masked.substr(0, 500));
  return 0;
}

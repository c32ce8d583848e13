// Step 3, fence: read_only=1 on the returned old master before anything else, and again whenever it is
// found off before the switch. Verified by reading it back.
#include "sql/statements.hpp"
#include "steps/step.hpp"

namespace mhafb {

StepOutcome fence(StepContext& ctx) {
  const MhaServer* old = ctx.old_master();
  if (!old) return StepOutcome::block("the old master is not in the MHA config", ctx.ack_hint());
  const std::string& host = old->hostname;

  auto facts = ctx.io.sql(host, sqlstmt::server_facts());
  if (!facts) return StepOutcome::retry("cannot read read_only on " + host + ": " + facts.error().message);
  if (facts->get(0, "read_only").value_or("0") == "1")
    return StepOutcome::progress(host + " is fenced (read_only=1)");

  auto set = ctx.io.sql(host, sqlstmt::set_read_only(true));
  if (!set) return StepOutcome::retry("fencing " + host + " failed: " + set.error().message);
  auto check = ctx.io.sql(host, sqlstmt::server_facts());
  if (!check || check->get(0, "read_only").value_or("0") != "1")
    return StepOutcome::retry("read_only on " + host + " did not read back as 1 after setting it");
  return StepOutcome::progress("fenced old master " + host + ": read_only=1");
}

}  // namespace mhafb

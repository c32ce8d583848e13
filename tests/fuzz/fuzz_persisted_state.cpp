// Fuzz target: the persisted state deserializer (deserialize_state). Two kinds of input:
//  - a whole state file (starts with anything but '#'): exactly what the daemon reads from disk;
//  - "#" followed by a JSON body: the target wraps it in a valid envelope (format 1 and the body's
//    FNV-1a checksum), so the fuzzer reaches the field parsing behind the checksum, which random
//    mutations of a whole file almost never satisfy. The checksum is the file format's, restated here.
//
// Properties beyond "no crash, hang or leak": whatever deserializes re-serializes, and that text
// deserializes again and re-serializes to the very same text; every failure is an Invalid error.
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "core/persisted_state.hpp"
#include "fuzz_support.hpp"

namespace {

std::string fnv1a64(const std::string& s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mhafb;
  using nlohmann::json;
  std::string text(fuzz::as_text(data, size));
  if (!text.empty() && text.front() == '#') {
    json body = json::parse(text.substr(1), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return 0;
    json doc{{"format", PersistedState::kFormatVersion}, {"checksum", fnv1a64(body.dump())}, {"body", body}};
    text = doc.dump(2);
  }

  Result<PersistedState> st = deserialize_state(text);
  if (!st) {
    if (st.error().kind != ErrorKind::Invalid)
      fuzz::fail("a state file that does not load is Invalid", st.error().message);
    fuzz::check_text("state error", st.error().message, 1 << 16);
    return 0;
  }
  std::string once = serialize_state(*st);
  Result<PersistedState> back = deserialize_state(once);
  if (!back)
    fuzz::fail("a deserialized state re-serializes to a loadable file", back.error().message + "\n" + once);
  std::string twice = serialize_state(*back);
  if (twice != once)
    fuzz::fail("serialize(deserialize(serialize(s))) == serialize(s)", once + "\n---\n" + twice);
  return 0;
}

// Names of error kinds, for logs and D-Bus error names.
#include "common/result.hpp"

namespace mhafb {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Failed:
      return "Failed";
    case ErrorKind::Timeout:
      return "Timeout";
    case ErrorKind::Unreachable:
      return "Unreachable";
    case ErrorKind::Refused:
      return "Refused";
    case ErrorKind::Invalid:
      return "Invalid";
    case ErrorKind::NotFound:
      return "NotFound";
    case ErrorKind::Auth:
      return "Auth";
    case ErrorKind::HostKey:
      return "HostKey";
    case ErrorKind::Cancelled:
      return "Cancelled";
    case ErrorKind::NotReady:
      return "NotReady";
    case ErrorKind::Busy:
      return "Busy";
  }
  return "Failed";
}

}  // namespace mhafb

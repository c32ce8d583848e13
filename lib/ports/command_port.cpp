// Display form of a command line, for the audit log (never executed by any shell).
#include "ports/command_port.hpp"

namespace mhafb {

std::string CommandSpec::display() const {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty();
    for (char c : arg) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) ||
            std::string_view("-_./=:,@+%").find(c) != std::string_view::npos)) {
        plain = false;
        break;
      }
    }
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char c : arg) {
        if (c == '\'')
          out += "'\\''";
        else
          out += c;
      }
      out += '\'';
    }
  }
  return out;
}

}  // namespace mhafb

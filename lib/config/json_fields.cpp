// Typed JSON value checks for the daemon configuration (see json_fields.hpp).
#include "config/json_fields.hpp"

#include <algorithm>

#include "config/suggest.hpp"

namespace mhafb {

using nlohmann::json;

std::string describe_json(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::string:
      return "the string " + quoted_value(v.get_ref<const std::string&>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "the number " + v.dump();
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a value of another kind";
  }
}

std::string json_kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

void JsonFields::error(const std::string& key, const std::string& expected, const std::string& found) {
  errors_.push_back(ConfigError{file_, key, expected, found});
}

void JsonFields::check_keys(const json& obj, const std::string& path,
                            const std::vector<std::string>& allowed) {
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string where = path.empty() ? key : path + "." + key;
    error(
        where,
        "a known key (one of: " +
            [&] {
              std::string s;
              for (const auto& a : allowed)
                s += (s.empty() ? "" : ", ") + a;
              return s;
            }() +
            ")",
        "an unknown key" + did_you_mean(key, allowed));
  }
}

bool JsonFields::object(const json& v, const std::string& path) {
  if (v.is_object()) return true;
  error(path, "an object { ... }", describe_json(v));
  return false;
}

std::optional<std::string> JsonFields::string(const json& v, const std::string& path, bool allow_empty) {
  if (!v.is_string()) {
    error(path, "a string", describe_json(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() && !allow_empty) {
    error(path, "a non-empty string", "\"\"");
    return std::nullopt;
  }
  if (s.find('\0') != std::string::npos) {
    error(path, "a string without NUL characters", "a string containing \\u0000");
    return std::nullopt;
  }
  return s;
}

std::optional<long long> JsonFields::integer(const json& v, const std::string& path, long long min,
                                             long long max, const std::string& unit) {
  std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!unit.empty()) range += " (" + unit + ")";
  if (v.is_number_unsigned()) {
    auto u = v.get<unsigned long long>();
    if (u > static_cast<unsigned long long>(max)) {
      error(path, range, describe_json(v));
      return std::nullopt;
    }
    if (static_cast<long long>(u) < min) {
      error(path, range, describe_json(v));
      return std::nullopt;
    }
    return static_cast<long long>(u);
  }
  if (v.is_number_integer()) {
    auto i = v.get<long long>();
    if (i < min || i > max) {
      error(path, range, describe_json(v));
      return std::nullopt;
    }
    return i;
  }
  std::string found = describe_json(v);
  if (v.is_string()) found += " (write numbers without quotes)";
  error(path, range, found);
  return std::nullopt;
}

std::optional<bool> JsonFields::boolean(const json& v, const std::string& path) {
  if (v.is_boolean()) return v.get<bool>();
  error(path, "true or false", describe_json(v));
  return std::nullopt;
}

std::optional<std::string> JsonFields::choice(const json& v, const std::string& path,
                                              const std::vector<std::string>& choices) {
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i)
    list += (i == 0 ? "" : (i + 1 == choices.size() ? " or " : ", ")) + choices[i];
  if (!v.is_string()) {
    error(path, list, describe_json(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  error(path, list, describe_json(v) + did_you_mean(s, choices));
  return std::nullopt;
}

std::optional<std::string> JsonFields::absolute_path(const json& v, const std::string& path,
                                                     bool secret_path) {
  if (!v.is_string()) {
    // A number where a password file's path belongs may be the password itself: name only its kind.
    error(path, "an absolute path (a string starting with /)", secret_path ? json_kind(v) : describe_json(v));
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (!s.empty() && s.front() == '/' && s.find('\0') == std::string::npos) return s;
  if (secret_path)
    error(path, "an absolute path to the file holding the secret",
          "a value that is not an absolute path (not shown: it may be the secret itself)");
  else
    error(path, "an absolute path (a string starting with /)", describe_json(v));
  return std::nullopt;
}

namespace {

bool is_shell_operator(const std::string& s) {
  static const std::vector<std::string> ops{"|",  "||", "&&", "&",    ";",  ">",
                                            ">>", "<",  "2>", "2>&1", "$(", "`"};
  return std::find(ops.begin(), ops.end(), s) != ops.end();
}

// "systemctl start mariadb" → ["systemctl", "start", "mariadb"], to show how an argv is written.
std::string as_argv_suggestion(const std::string& command) {
  std::string out = "[";
  size_t i = 0;
  bool first = true;
  while (i < command.size()) {
    while (i < command.size() && (command[i] == ' ' || command[i] == '\t'))
      ++i;
    size_t j = i;
    while (j < command.size() && command[j] != ' ' && command[j] != '\t')
      ++j;
    if (j > i) {
      out += (first ? "" : ", ") + quoted_value(command.substr(i, j - i), 200);
      first = false;
    }
    i = j;
  }
  return out + "]";
}

}  // namespace

std::optional<std::vector<std::string>> JsonFields::argv(const json& v, const std::string& path,
                                                         bool allow_empty) {
  const std::string expected = allow_empty ? "an argv array of strings (no shell runs it), or [] for none"
                                           : "a non-empty argv array of strings (no shell runs it)";
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    error(path, expected,
          "a string; commands are never given to a shell, write the program and each argument as separate "
          "strings, e.g. " +
              as_argv_suggestion(s));
    return std::nullopt;
  }
  if (!v.is_array()) {
    error(path, expected, describe_json(v));
    return std::nullopt;
  }
  if (v.empty()) {
    if (allow_empty) return std::vector<std::string>{};
    error(path, expected, "an empty array");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    if (!v[i].is_string()) {
      error(p, "a string (each argv element is one string)", describe_json(v[i]));
      ok = false;
      continue;
    }
    const auto& s = v[i].get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos) {
      error(p, "a string without NUL characters", "a string containing \\u0000");
      ok = false;
    } else if (i == 0 && s.empty()) {
      error(p, "the program to run (a name looked up in PATH, or an absolute path)", "\"\"");
      ok = false;
    } else if (is_shell_operator(s)) {
      error(p, "a plain argument (no shell runs commands, so shell syntax is passed literally)",
            quoted_value(s) + "; to use a shell on purpose write [\"/bin/sh\", \"-c\", \"...\"]");
      ok = false;
    }
    out.push_back(s);
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace mhafb

// Typed reading of JSON configuration values with error collection: each getter checks one value's
// type and range, and on a mismatch records a ConfigError naming the key path, what was expected
// and what was found, then returns nothing so the caller keeps its default and carries on (every
// error is reported, not only the first).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.hpp"

namespace mhafb {

// A short description of a JSON value for `found`: "the string \"x\"", "the number 5", "an object".
std::string describe_json(const nlohmann::json& v);
// Only the kind of value ("a string", "a number"), for values that may be secrets.
std::string json_kind(const nlohmann::json& v);

class JsonFields {
 public:
  JsonFields(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const std::string& key, const std::string& expected, const std::string& found);
  const std::string& file() const { return file_; }

  // Reports every key of `obj` not in `allowed` (with a "did you mean"). `obj` must be an object.
  void check_keys(const nlohmann::json& obj, const std::string& path,
                  const std::vector<std::string>& allowed);

  bool object(const nlohmann::json& v, const std::string& path);
  std::optional<std::string> string(const nlohmann::json& v, const std::string& path,
                                    bool allow_empty = false);
  std::optional<long long> integer(const nlohmann::json& v, const std::string& path, long long min,
                                   long long max, const std::string& unit = "");
  std::optional<bool> boolean(const nlohmann::json& v, const std::string& path);
  // One of `choices`, exactly.
  std::optional<std::string> choice(const nlohmann::json& v, const std::string& path,
                                    const std::vector<std::string>& choices);
  // An absolute path. With `secret_path`, a value that is not an absolute path is not echoed (an
  // operator may have pasted the password itself where its file's path belongs).
  std::optional<std::string> absolute_path(const nlohmann::json& v, const std::string& path,
                                           bool secret_path = false);
  // An argv: an array of strings, the first one non-empty, never a shell command line.
  std::optional<std::vector<std::string>> argv(const nlohmann::json& v, const std::string& path,
                                               bool allow_empty);

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

}  // namespace mhafb

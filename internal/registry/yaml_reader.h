#pragma once

// Typed, strict reads from a yaml-cpp tree with one-line error messages of the
// form "file:line: field: problem". Schema-agnostic: registry.cpp owns the
// schema. A YamlReader is immutable; use it from one thread at a time because
// yaml-cpp nodes are not thread-safe.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "pkg/types/status.h"

namespace modeld::registry {

// A mapping's member: its value and the 1-based line errors about it name.
struct YamlField {
  YAML::Node value;
  int line = 1;
};
using YamlFields = std::map<std::string, YamlField, std::less<>>;

class YamlReader {
 public:
  explicit YamlReader(std::string file_name) : file_(std::move(file_name)) {}

  // Parses `text`, which must hold exactly one YAML document, into *root:
  // no document and a second one are errors. Malformed YAML throws
  // YAML::ParserException, as yaml-cpp does.
  Status LoadOne(const std::string& text, YAML::Node* root) const;

  // "file:line: field: problem", or "file:line: problem" when field is empty.
  Status Error(int line, std::string_view field, std::string_view problem) const;

  // The node's 1-based line, or `fallback` when yaml-cpp has no position.
  static int LineOf(const YAML::Node& node, int fallback = 1);

  // "models[1]" + "ctx_size" -> "models[1].ctx_size"; top level: "ctx_size".
  static std::string Join(std::string_view where, std::string_view key);

  // A short, single-line description of a value for "got ..." messages: a
  // quoted, escaped, truncated scalar, or "a list", "a mapping", "nothing".
  static std::string Describe(const YAML::Node& node);

  // Checks that `node` is a mapping whose keys are plain strings from
  // `allowed`, each present once; `where` names the mapping in messages.
  Status ReadMap(const YAML::Node& node, std::string_view where,
                 std::span<const std::string_view> allowed, YamlFields* out) const;

  // Reads a non-empty string scalar. When the key is absent: an error if
  // `required` (pointing at `map_line`), else *out is left as is.
  Status ReadString(const YamlFields& fields, std::string_view where, std::string_view key,
                    bool required, int map_line, std::string* out) const;

  // Reads an optional decimal integer in [min, max]; *out is left as is when
  // the key is absent.
  Status ReadInt(const YamlFields& fields, std::string_view where, std::string_view key,
                 int64_t min, int64_t max, int64_t* out) const;

  // Reads an optional boolean (true or false, nothing else); *out is left as
  // is when the key is absent.
  Status ReadBool(const YamlFields& fields, std::string_view where, std::string_view key,
                  bool* out) const;

 private:
  std::string file_;
};

}  // namespace modeld::registry

#include "internal/registry/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>
#include <vector>

#include <yaml-cpp/eventhandler.h>

namespace modeld::registry {
namespace {

constexpr size_t kMaxShown = 60;  // bytes of a bad value quoted in a message

// Levenshtein distance, for "did you mean" on misspelt keys.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string UnknownKeyProblem(std::string_view key, std::span<const std::string_view> allowed) {
  std::string_view best;
  size_t best_distance = 3;  // suggest only close matches
  for (std::string_view candidate : allowed) {
    const size_t d = EditDistance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (!best.empty()) {
    return "unknown key; did you mean \"" + std::string(best) + "\"?";
  }
  std::string problem = "unknown key; valid keys are ";
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) {
      problem += ", ";
    }
    problem += allowed[i];
  }
  return problem;
}

// The line an error about a mapping value points at. yaml-cpp places an
// empty (null) value at the next token, often the following line, so those
// point at their key instead.
int ValueLine(const YAML::Node& key, const YAML::Node& value) {
  const int key_line = YamlReader::LineOf(key);
  return value.IsNull() ? key_line : YamlReader::LineOf(value, key_line);
}

// Records where each document and its first node start; ignores the rest.
class DocumentMarks final : public YAML::EventHandler {
 public:
  struct Doc {
    YAML::Mark start;
    YAML::Mark node;  // the first node's position; the start's when it has none
  };
  std::vector<Doc> docs;

  void OnDocumentStart(const YAML::Mark& mark) override {
    docs.push_back({mark, mark});
    first_node_pending_ = true;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& mark) {
    if (first_node_pending_ && !docs.empty()) docs.back().node = mark;
    first_node_pending_ = false;
  }
  bool first_node_pending_ = false;
};

}  // namespace

Status YamlReader::LoadOne(const std::string& text, YAML::Node* root) const {
  // Not YAML::LoadAll: on input such as ", a" yaml-cpp 0.7 reports empty
  // documents forever without consuming anything, so LoadAll never returns
  // (found by fuzz/registry_yaml_fuzzer). Two documents tell one from more.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentMarks marks;
  while (marks.docs.size() < 2 && parser.HandleNextDocument(marks)) {
  }
  if (marks.docs.empty()) {
    return Error(1, "", "empty config; expected a mapping with a \"models\" list");
  }
  if (marks.docs.size() > 1) {
    const DocumentMarks::Doc& second = marks.docs[1];
    if (second.start.pos == marks.docs[0].start.pos) {
      return Error(second.start.line + 1, "",
                   "invalid YAML: no document can start here (column " +
                       std::to_string(second.start.column + 1) + ")");
    }
    return Error(second.node.line + 1, "", "expected one YAML document, found a second one");
  }
  *root = YAML::Load(text);
  return Status::Ok();
}

Status YamlReader::Error(int line, std::string_view field, std::string_view problem) const {
  std::string msg = file_ + ":" + std::to_string(line) + ": ";
  if (!field.empty()) {
    msg += field;
    msg += ": ";
  }
  msg += problem;
  return Status::InvalidRequest(std::move(msg));
}

int YamlReader::LineOf(const YAML::Node& node, int fallback) {
  const int line = node.Mark().line;  // 0-based; -1 when unknown
  return line >= 0 ? line + 1 : fallback;
}

std::string YamlReader::Join(std::string_view where, std::string_view key) {
  if (where.empty()) {
    return std::string(key);
  }
  std::string joined(where);
  joined += '.';
  joined += key;
  return joined;
}

std::string YamlReader::Describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return "nothing";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (node.IsMap()) {
    return "a mapping";
  }
  const std::string& text = node.Scalar();
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxShown) {
    out += "...";
  }
  out += '"';
  return out;
}

Status YamlReader::ReadMap(const YAML::Node& node, std::string_view where,
                           std::span<const std::string_view> allowed, YamlFields* out) const {
  out->clear();
  if (!node.IsMap()) {
    return Error(LineOf(node), where, "expected a mapping, got " + Describe(node));
  }
  // Copies, not references: yaml-cpp's iterator hands out a temporary proxy.
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      return Error(LineOf(key), where, "keys must be plain names, got " + Describe(key));
    }
    const std::string& name = key.Scalar();
    const std::string field = Join(where, name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return Error(LineOf(key), field, UnknownKeyProblem(name, allowed));
    }
    auto [prev, inserted] = out->try_emplace(name, YamlField{value, ValueLine(key, value)});
    if (!inserted) {
      return Error(LineOf(key), field,
                   "duplicate key (first set at line " + std::to_string(prev->second.line) + ")");
    }
  }
  return Status::Ok();
}

Status YamlReader::ReadString(const YamlFields& fields, std::string_view where,
                              std::string_view key, bool required, int map_line,
                              std::string* out) const {
  auto it = fields.find(key);
  if (it == fields.end()) {
    return required ? Error(map_line, Join(where, key), "missing required field") : Status::Ok();
  }
  const YAML::Node& value = it->second.value;
  if (!value.IsScalar() || value.Scalar().empty()) {
    return Error(it->second.line, Join(where, key),
                 "expected a non-empty string, got " + Describe(value));
  }
  *out = value.Scalar();
  return Status::Ok();
}

Status YamlReader::ReadInt(const YamlFields& fields, std::string_view where, std::string_view key,
                           int64_t min, int64_t max, int64_t* out) const {
  auto it = fields.find(key);
  if (it == fields.end()) {
    return Status::Ok();
  }
  const YAML::Node& value = it->second.value;
  const std::string expected = min == 1   ? "a positive integer"
                               : min == 0 ? "a non-negative integer"
                                          : "an integer from " + std::to_string(min);
  auto fail = [&](const std::string& what) {
    return Error(it->second.line, Join(where, key),
                 "expected " + what + ", got " + Describe(value));
  };
  if (!value.IsScalar()) {
    return fail(expected);
  }
  // Plain decimal only: YAML's 0x/0o forms and "4_096" are more likely typos
  // than intent in a config file.
  std::string_view text = value.Scalar();
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || end != text.data() + text.size()) {
    return fail(expected);
  }
  const bool too_big = ec == std::errc::result_out_of_range && text.front() != '-';
  if (too_big || (ec == std::errc() && n > max)) {
    return fail(expected + " no larger than " + std::to_string(max));
  }
  if (ec != std::errc() || n < min) {
    return fail(expected);
  }
  *out = n;
  return Status::Ok();
}

Status YamlReader::ReadBool(const YamlFields& fields, std::string_view where, std::string_view key,
                            bool* out) const {
  auto it = fields.find(key);
  if (it == fields.end()) {
    return Status::Ok();
  }
  const YAML::Node& value = it->second.value;
  // Only the two spellings: YAML 1.1's yes/no/on/off are typos as often as not.
  if (value.IsScalar() && (value.Scalar() == "true" || value.Scalar() == "false")) {
    *out = value.Scalar() == "true";
    return Status::Ok();
  }
  return Error(it->second.line, Join(where, key), "expected true or false, got " + Describe(value));
}

}  // namespace modeld::registry

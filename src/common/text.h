#pragma once
// Small string helpers shared by every module.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace c19ai {

// Appends s as a JSON string literal (with quotes), escaping as RFC 8259 requires.
void AppendJsonString(std::string& out, std::string_view s);
std::string JsonQuote(std::string_view s);

std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty = false);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);
std::string HexEncode(std::string_view bytes);
// Percent-decodes; false on a malformed escape. '+' is kept (paths), unless plus_as_space (queries).
bool PercentDecode(std::string_view in, std::string& out, bool plus_as_space = false);
std::string PercentEncode(std::string_view in);
// Parses "123", "10k", "64MiB", "1GB"... into bytes; false if malformed.
bool ParseByteSize(std::string_view text, int64_t& out);
// Parses "250ms", "30s", "5m", "2h", "1d" or a bare number of seconds into milliseconds.
bool ParseDurationMs(std::string_view text, int64_t& out);
// Constant-time comparison of two byte strings (length may leak).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace c19ai

// Row readers shared by batch predictions and embedding search.

#include "inference/rows.h"

#include <charconv>
#include <cmath>

namespace c19ai::inference::internal {

Json Cell(const std::string& s) {
  if (s.empty()) return nullptr;
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc() && end == s.data() + s.size() && std::isfinite(d)) {
    int64_t i = 0;
    auto [iend, iec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (iec == std::errc() && iend == s.data() + s.size()) return i;
    return d;
  }
  return s;
}

Result<std::vector<Json>> ReadRecords(std::unique_ptr<storage::ByteSource> source, const std::string& format,
                                      char delimiter, int64_t max_rows) {
  Input in(std::move(source));
  std::vector<Json> out;
  auto admit = [&]() -> Status {
    if (static_cast<int64_t>(out.size()) >= max_rows) {
      return Error::ResourceExhausted("the dataset has more than " + std::to_string(max_rows) + " rows");
    }
    return OkStatus();
  };
  int64_t line = 0;
  if (format == "csv") {
    CsvReader csv(in, delimiter);
    std::vector<std::string> header, fields;
    C19_ASSIGN_OR_RETURN(bool any, csv.Next(header, line));
    if (!any) return out;
    for (auto& h : header) h = std::string(Trim(h));
    for (;;) {
      C19_ASSIGN_OR_RETURN(bool more, csv.Next(fields, line));
      if (!more) break;
      if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
      if (fields.size() != header.size()) {
        return Error::InvalidArgument("line " + std::to_string(line) + ": " + std::to_string(fields.size()) +
                                      " fields where the header has " + std::to_string(header.size()));
      }
      C19_TRY(admit());
      Json row = Json::object();
      for (size_t i = 0; i < header.size(); ++i) row[header[i]] = Cell(fields[i]);
      out.push_back(std::move(row));
    }
    return out;
  }
  if (format != "jsonl") return Error::InvalidArgument("format must be csv or jsonl, got \"" + format + "\"");
  JsonlReader jsonl(in);
  Json value;
  for (;;) {
    C19_ASSIGN_OR_RETURN(bool more, jsonl.Next(value, line));
    if (!more) break;
    if (!value.is_object()) return Error::InvalidArgument("line " + std::to_string(line) + ": a row must be a JSON object");
    C19_TRY(admit());
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace c19ai::inference::internal

#include "common/json.h"

#include <cmath>

namespace c19ai {

Result<Json> ParseJson(std::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    Json details = {{"position", e.byte}};
    std::string what = e.what();
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    auto pos = what.find("parse error");
    if (pos != std::string::npos) what = what.substr(pos);
    return Error{ErrorCode::kInvalidArgument, "invalid JSON at byte " + std::to_string(e.byte) + ": " + what,
                 details.dump()};
  }
}

Result<Json> ParseJsonObject(std::string_view text, std::string_view what) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Error::InvalidArgument(std::string(what) + " must be a JSON object, got an empty body");
  }
  C19_ASSIGN_OR_RETURN(Json j, ParseJson(text));
  if (!j.is_object()) {
    return Error::InvalidArgument(std::string(what) + " must be a JSON object, got " + j.type_name());
  }
  return j;
}

std::string DumpJson(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string Preview(const Json& value) {
  std::string s = DumpJson(value);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

FieldReader::FieldReader(const Json& object, std::string path) : object_(object), path_(std::move(path)) {
  if (!object_.is_object()) {
    error_ = Error::Field(path_.empty() ? "body" : path_,
                          (path_.empty() ? std::string("body") : "field \"" + path_ + "\"") +
                              " must be a JSON object, got " + object_.type_name());
  }
}

std::string FieldReader::Path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void FieldReader::Fail(std::string_view key, std::string message) {
  if (!error_) error_ = Error::Field(Path(key), std::move(message));
}

void FieldReader::Allow(std::string_view key) { seen_.emplace(key); }

const Json* FieldReader::Find(std::string_view key) {
  seen_.emplace(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> FieldReader::OptString(std::string_view key) {
  const Json* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    Fail(key, "field \"" + Path(key) + "\" must be a string, got " + Preview(*v));
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string FieldReader::String(std::string_view key) {
  const Json* v = Find(key);
  if (!v) {
    Fail(key, "field \"" + Path(key) + "\" is required");
    return {};
  }
  auto s = OptString(key);
  return s.value_or(std::string());
}

std::optional<int64_t> FieldReader::OptInt(std::string_view key, int64_t min, int64_t max) {
  const Json* v = Find(key);
  if (!v) return std::nullopt;
  int64_t out = 0;
  if (v->is_number_integer()) {
    out = v->get<int64_t>();
  } else if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
             std::abs(v->get<double>()) < 9e15) {
    out = static_cast<int64_t>(v->get<double>());
  } else {
    Fail(key, "field \"" + Path(key) + "\" must be an integer, got " + Preview(*v));
    return std::nullopt;
  }
  if (out < min || out > max) {
    Fail(key, "field \"" + Path(key) + "\" must be between " + std::to_string(min) + " and " + std::to_string(max) +
                  ", got " + std::to_string(out));
    return std::nullopt;
  }
  return out;
}

int64_t FieldReader::Int(std::string_view key, int64_t min, int64_t max) {
  if (!Find(key)) {
    Fail(key, "field \"" + Path(key) + "\" is required");
    return 0;
  }
  return OptInt(key, min, max).value_or(0);
}

std::optional<double> FieldReader::OptNumber(std::string_view key, double min, double max) {
  const Json* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    Fail(key, "field \"" + Path(key) + "\" must be a number, got " + Preview(*v));
    return std::nullopt;
  }
  double d = v->get<double>();
  if (!(d >= min && d <= max)) {
    Fail(key, "field \"" + Path(key) + "\" must be between " + DumpJson(min) + " and " + DumpJson(max) + ", got " +
                  DumpJson(d));
    return std::nullopt;
  }
  return d;
}

std::optional<bool> FieldReader::OptBool(std::string_view key) {
  const Json* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    Fail(key, "field \"" + Path(key) + "\" must be true or false, got " + Preview(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

const Json* FieldReader::OptValue(std::string_view key) { return Find(key); }

const Json* FieldReader::OptObject(std::string_view key) {
  const Json* v = Find(key);
  if (v && !v->is_object()) {
    Fail(key, "field \"" + Path(key) + "\" must be an object, got " + Preview(*v));
    return nullptr;
  }
  return v;
}

const Json* FieldReader::OptArray(std::string_view key) {
  const Json* v = Find(key);
  if (v && !v->is_array()) {
    Fail(key, "field \"" + Path(key) + "\" must be an array, got " + Preview(*v));
    return nullptr;
  }
  return v;
}

std::optional<std::vector<std::string>> FieldReader::OptStringList(std::string_view key) {
  const Json* v = OptArray(key);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) {
      Fail(key, "field \"" + Path(key) + "\" must be a list of strings, got an item " + Preview(item));
      return std::nullopt;
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

Status FieldReader::Finish(bool refuse_unknown) {
  if (error_) return *error_;
  if (refuse_unknown && object_.is_object()) {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (!seen_.contains(it.key())) {
        return Error::Field(Path(it.key()), "unknown field \"" + Path(it.key()) + "\"");
      }
    }
  }
  return OkStatus();
}

}  // namespace c19ai

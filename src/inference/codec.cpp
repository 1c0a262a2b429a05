#include "inference/codec.h"

#include <cmath>

#include "common/text.h"

namespace c19ai::inference {

namespace {

using ml::DataType;
using ml::Tensor;
using ml::TensorSpec;

bool IsInteger(DataType t) {
  switch (t) {
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
    case DataType::kUint64: return true;
    default: return false;
  }
}

// Appends one JSON scalar to a tensor of the given datatype.
Status PutScalar(const Json& v, DataType dt, Tensor& out, const std::string& where) {
  if (dt == DataType::kBytes) {
    if (!v.is_string()) return Error::Field(where, where + ": BYTES values must be strings, got " + Preview(v));
    out.strings.push_back(v.get<std::string>());
    return OkStatus();
  }
  double d;
  if (v.is_boolean()) {
    d = v.get<bool>() ? 1 : 0;
  } else if (v.is_number()) {
    d = v.get<double>();
    if (dt == DataType::kBool && d != 0 && d != 1) {
      return Error::Field(where, where + ": BOOL values must be true or false, got " + Preview(v));
    }
    if (IsInteger(dt) && d != std::floor(d)) {
      return Error::Field(where, where + ": " + std::string(ml::DataTypeName(dt)) + " values must be integers, got " +
                                     Preview(v));
    }
  } else {
    return Error::Field(where, where + ": expected a number, got " + Preview(v));
  }
  out.values.push_back(d);
  return OkStatus();
}

// Flattens nested arrays, recording the dimensions of the nesting (they must be regular: the first
// element goes deepest first, so a new level after values were seen, or a value above the deepest
// level, means rows of different depths).
Status FlattenImpl(const Json& v, DataType dt, Tensor& out, std::vector<int64_t>& dims, size_t depth,
                   const std::string& where, bool& seen_value) {
  if (!v.is_array()) {
    if (depth < dims.size()) return Error::Field(where, where + " is not a regular array");
    seen_value = true;
    return PutScalar(v, dt, out, where);
  }
  if (depth == dims.size()) {
    if (seen_value) return Error::Field(where, where + " is not a regular array");
    dims.push_back(static_cast<int64_t>(v.size()));
  } else if (dims[depth] != static_cast<int64_t>(v.size())) {
    return Error::Field(where, where + " is not a regular array (rows of different lengths)");
  }
  for (const auto& e : v) C19_TRY(FlattenImpl(e, dt, out, dims, depth + 1, where, seen_value));
  return OkStatus();
}

Status Flatten(const Json& v, DataType dt, Tensor& out, std::vector<int64_t>& dims, size_t depth,
               const std::string& where) {
  bool seen_value = false;
  return FlattenImpl(v, dt, out, dims, depth, where, seen_value);
}

int64_t Product(const std::vector<int64_t>& dims, size_t from = 0) {
  int64_t n = 1;
  for (size_t i = from; i < dims.size(); ++i) n *= dims[i];
  return n;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Rows of one input (a JSON array, one element per row) as a tensor of the spec's shape.
Result<Tensor> RowsToTensor(const Json& rows, const TensorSpec& spec, const std::string& where) {
  if (!rows.is_array() || rows.empty()) return Error::Field(where, where + " must be a non-empty list of rows");
  Tensor t;
  t.name = spec.name;
  t.datatype = spec.datatype;
  const std::vector<int64_t> trailing(spec.shape.begin() + (spec.shape.empty() ? 0 : 1), spec.shape.end());
  const bool fixed = std::all_of(trailing.begin(), trailing.end(), [](int64_t d) { return d >= 0; });
  // One flat row for a [-1, k] input: [5.1, 3.5, 1.4, 0.2].
  if (trailing.size() == 1 && fixed && !rows[0].is_array() && static_cast<int64_t>(rows.size()) == trailing[0]) {
    for (size_t i = 0; i < rows.size(); ++i) C19_TRY(PutScalar(rows[i], t.datatype, t, where));
    t.shape = {1, trailing[0]};
    return t;
  }
  std::vector<int64_t> row_dims, first_dims;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string at = where + "[" + std::to_string(r) + "]";
    std::vector<int64_t> dims;
    C19_TRY(Flatten(rows[r], t.datatype, t, dims, 0, at));
    if (r == 0) {
      first_dims = row_dims = dims;
      // A flat row for a fixed multi-dimensional input is laid out row-major.
      if (dims.size() == 1 && trailing.size() > 1 && fixed && dims[0] == Product(trailing)) row_dims = trailing;
    } else if (dims != first_dims) {
      return Error::Field(at, at + " has shape " + ShapeText(dims) + "; the first row has " + ShapeText(first_dims));
    }
  }
  if (row_dims.size() != trailing.size()) {
    return Error::Field(where, where + ": each row must have shape " + ShapeText(trailing) + " (input \"" + spec.name +
                                   "\" is " + ShapeText(spec.shape) + "), got " + ShapeText(row_dims));
  }
  for (size_t d = 0; d < trailing.size(); ++d) {
    if (trailing[d] >= 0 && trailing[d] != row_dims[d]) {
      return Error::Field(where, where + ": each row must have shape " + ShapeText(trailing) + " (input \"" +
                                     spec.name + "\" is " + ShapeText(spec.shape) + "), got " + ShapeText(row_dims));
    }
  }
  t.shape = {static_cast<int64_t>(rows.size())};
  t.shape.insert(t.shape.end(), row_dims.begin(), row_dims.end());
  return t;
}

ml::Cell ToCell(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  return std::monostate{};
}

Result<PredictInput> DecodeBundle(const Json& body, const ServedModel& m) {
  const std::vector<std::string> features = m.model->FeatureNames();
  PredictInput in;
  in.by_rows = true;
  if (body.contains("instances")) {
    const Json& inst = body["instances"];
    if (!inst.is_array() || inst.empty()) return Error::Field("instances", "instances must be a non-empty list");
    for (size_t r = 0; r < inst.size(); ++r) {
      const Json& obj = inst[r];
      std::string at = "instances[" + std::to_string(r) + "]";
      if (!obj.is_object()) {
        return Error::Field(at, at + " must be an object of feature values (the model takes " +
                                    std::to_string(features.size()) + " features)");
      }
      ml::Row row(features.size());
      for (const auto& [k, v] : obj.items()) {
        auto it = std::find(features.begin(), features.end(), k);
        if (it == features.end()) return Error::Field(at + "." + k, "the model has no feature \"" + k + "\"");
        if (v.is_array() || v.is_object()) return Error::Field(at + "." + k, "feature values must be scalars");
        row[static_cast<size_t>(it - features.begin())] = ToCell(v);
      }
      in.rows.push_back(std::move(row));
    }
    return in;
  }
  const Json& rows = body["inputs"];
  if (!rows.is_array() || rows.empty()) return Error::Field("inputs", "inputs must be a non-empty list of rows");
  auto add = [&](const Json& row, const std::string& at) -> Status {
    if (!row.is_array() || row.size() != features.size()) {
      return Error::Field(at, at + " must list the " + std::to_string(features.size()) + " features in order (" +
                                  Join(features, ", ") + ")");
    }
    ml::Row out;
    for (const auto& v : row) {
      if (v.is_array() || v.is_object()) return Error::Field(at, "feature values must be scalars");
      out.push_back(ToCell(v));
    }
    in.rows.push_back(std::move(out));
    return OkStatus();
  };
  if (!rows[0].is_array()) {
    C19_TRY(add(rows, "inputs"));
  } else {
    for (size_t r = 0; r < rows.size(); ++r) C19_TRY(add(rows[r], "inputs[" + std::to_string(r) + "]"));
  }
  return in;
}

// Nested JSON of one row of a tensor (dims after the batch dimension).
Json Nest(const Tensor& t, size_t& at, size_t depth) {
  if (depth >= t.shape.size()) {
    size_t i = at++;
    if (t.datatype == DataType::kBytes) return i < t.strings.size() ? Json(t.strings[i]) : Json("");
    double v = i < t.values.size() ? t.values[i] : 0;
    if (t.datatype == DataType::kBool) return Json(v != 0);
    if (IsInteger(t.datatype)) return Json(static_cast<int64_t>(v));
    return Json(v);
  }
  Json arr = Json::array();
  for (int64_t k = 0; k < t.shape[depth]; ++k) arr.push_back(Nest(t, at, depth + 1));
  return arr;
}

Json FlatData(const Tensor& t) {
  Json data = Json::array();
  if (t.datatype == DataType::kBytes) {
    for (const auto& s : t.strings) data.push_back(s);
  } else if (t.datatype == DataType::kBool) {
    for (double v : t.values) data.push_back(v != 0);
  } else if (IsInteger(t.datatype)) {
    for (double v : t.values) data.push_back(static_cast<int64_t>(v));
  } else {
    for (double v : t.values) data.push_back(v);
  }
  return data;
}

}  // namespace

Result<PredictInput> DecodeNative(const Json& body, const ServedModel& m) {
  if (!body.is_object()) return Error::InvalidArgument("the body must be a JSON object");
  const bool has_inputs = body.contains("inputs"), has_instances = body.contains("instances");
  if (has_inputs == has_instances) return Error::Field("inputs", "give either inputs or instances");
  if (m.bundle) return DecodeBundle(body, m);
  const ml::Signature& sig = m.model->signature();
  PredictInput in;
  const Json& value = has_inputs ? body["inputs"] : body["instances"];
  const std::string field = has_inputs ? "inputs" : "instances";
  if (value.is_object()) {
    // {"a": rows, "b": rows}
    for (const auto& spec : sig.inputs) {
      if (!value.contains(spec.name)) return Error::Field(field + "." + spec.name, "missing input \"" + spec.name + "\"");
      C19_ASSIGN_OR_RETURN(Tensor t, RowsToTensor(value[spec.name], spec, field + "." + spec.name));
      in.tensors.push_back(std::move(t));
    }
    for (const auto& [k, v] : value.items()) {
      bool known = std::any_of(sig.inputs.begin(), sig.inputs.end(), [&](const TensorSpec& s) { return s.name == k; });
      if (!known) return Error::Field(field + "." + k, "the model has no input \"" + k + "\"");
    }
  } else if (has_instances && value.is_array() && !value.empty() && value[0].is_object()) {
    // [{"a": row, "b": row}, ...]
    for (const auto& spec : sig.inputs) {
      Json rows = Json::array();
      for (size_t r = 0; r < value.size(); ++r) {
        if (!value[r].is_object() || !value[r].contains(spec.name)) {
          return Error::Field("instances[" + std::to_string(r) + "]", "instance has no input \"" + spec.name + "\"");
        }
        rows.push_back(value[r][spec.name]);
      }
      C19_ASSIGN_OR_RETURN(Tensor t, RowsToTensor(rows, spec, "instances." + spec.name));
      in.tensors.push_back(std::move(t));
    }
  } else {
    if (sig.inputs.size() != 1) {
      return Error::Field(field, "the model takes " + std::to_string(sig.inputs.size()) +
                                     " inputs: give them by name, {\"" + field + "\": {\"" + sig.inputs[0].name +
                                     "\": rows, ...}}");
    }
    C19_ASSIGN_OR_RETURN(Tensor t, RowsToTensor(value, sig.inputs[0], field));
    in.tensors.push_back(std::move(t));
  }
  int64_t rows = in.tensors[0].shape[0];
  for (const auto& t : in.tensors) {
    if (t.shape[0] != rows) return Error::Field(field, "every input must have the same number of rows");
  }
  C19_TRY(ml::CheckInputs(sig, in.tensors));
  return in;
}

Json EncodeNative(const ServedModel& m, const PredictResult& r) {
  Json j = Json::object();
  const ml::PredictOutput& o = r.output;
  auto task = m.model ? m.model->BundleTask() : std::nullopt;
  if (m.bundle && task) {
    switch (*task) {
      case ml::Task::kClassification:
        j["outputs"] = o.labels;
        j["labels"] = o.labels;
        j["probabilities"] = o.probabilities;
        j["classes"] = m.model->ClassNames();
        return j;
      case ml::Task::kClustering: {
        Json clusters = Json::array();
        if (!o.outputs.empty())
          for (double v : o.outputs[0].values) clusters.push_back(static_cast<int64_t>(v));
        j["outputs"] = clusters;
        j["distances"] = o.distances;
        return j;
      }
      default: break;
    }
  }
  const int64_t rows = o.outputs.empty() || o.outputs[0].shape.empty() ? 0 : o.outputs[0].shape[0];
  Json outputs = Json::array();
  for (int64_t row = 0; row < rows; ++row) {
    if (o.outputs.size() == 1) {
      const Tensor& t = o.outputs[0];
      size_t at = static_cast<size_t>(row * (rows ? t.elements() / rows : 0));
      outputs.push_back(Nest(t, at, 1));
    } else {
      Json obj = Json::object();
      for (const auto& t : o.outputs) {
        int64_t n = t.shape.empty() ? 1 : t.shape[0];
        size_t at = static_cast<size_t>(row * (n ? t.elements() / n : 0));
        obj[t.name] = Nest(t, at, 1);
      }
      outputs.push_back(obj);
    }
  }
  j["outputs"] = outputs;
  return j;
}

Result<PredictInput> DecodeV2(const Json& body, const ServedModel& m) {
  if (!body.is_object()) return Error::InvalidArgument("the request must be a JSON object");
  if (!body.contains("inputs") || !body["inputs"].is_array() || body["inputs"].empty()) {
    return Error::Field("inputs", "inputs must be a non-empty list of tensors");
  }
  if (body.contains("parameters") && body["parameters"].is_object() &&
      body["parameters"].value("binary_data_output", false)) {
    return Error::Field("parameters.binary_data_output", "the binary tensor data extension is not supported");
  }
  std::map<std::string, Tensor> given;
  const Json& inputs = body["inputs"];
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Json& in = inputs[i];
    std::string at = "inputs[" + std::to_string(i) + "]";
    if (!in.is_object()) return Error::Field(at, at + " must be an object");
    if (!in.contains("name") || !in["name"].is_string()) return Error::Field(at + ".name", at + " needs a name");
    if (!in.contains("datatype") || !in["datatype"].is_string()) {
      return Error::Field(at + ".datatype", at + " needs a datatype");
    }
    if (!in.contains("shape") || !in["shape"].is_array()) return Error::Field(at + ".shape", at + " needs a shape");
    if (!in.contains("data")) return Error::Field(at + ".data", at + " needs data");
    if (in.contains("parameters") && in["parameters"].is_object() && in["parameters"].contains("binary_data_size")) {
      return Error::Field(at + ".parameters", "the binary tensor data extension is not supported");
    }
    Tensor t;
    t.name = in["name"].get<std::string>();
    auto dt = ml::ParseDataType(in["datatype"].get<std::string>());
    if (!dt) return Error::Field(at + ".datatype", "unknown datatype \"" + in["datatype"].get<std::string>() + "\"");
    t.datatype = *dt;
    for (const auto& d : in["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) {
        return Error::Field(at + ".shape", at + ".shape must list non-negative integers");
      }
      t.shape.push_back(d.get<int64_t>());
    }
    std::vector<int64_t> dims;
    C19_TRY(Flatten(in["data"].is_array() ? in["data"] : Json::array({in["data"]}), t.datatype, t, dims, 0,
                    at + ".data"));
    const int64_t count = t.datatype == DataType::kBytes ? static_cast<int64_t>(t.strings.size())
                                                         : static_cast<int64_t>(t.values.size());
    if (count != Product(t.shape)) {
      return Error::Field(at + ".data", "input \"" + t.name + "\" has " + std::to_string(count) +
                                            " values for shape " + ShapeText(t.shape));
    }
    if (given.count(t.name)) return Error::Field(at + ".name", "input \"" + t.name + "\" is given twice");
    given.emplace(t.name, std::move(t));
  }
  PredictInput out;
  if (m.bundle) {
    // One column per feature: shape [n] or [n, 1].
    const std::vector<std::string> features = m.model->FeatureNames();
    int64_t rows = -1;
    for (const auto& f : features) {
      auto it = given.find(f);
      if (it == given.end()) return Error::Field("inputs", "missing input \"" + f + "\" (one per feature)");
      const Tensor& t = it->second;
      if (t.shape.empty() || t.shape.size() > 2 || (t.shape.size() == 2 && t.shape[1] != 1)) {
        return Error::Field("inputs", "input \"" + f + "\" must have shape [n] or [n, 1]");
      }
      if (rows >= 0 && t.shape[0] != rows) return Error::Field("inputs", "every input must have the same rows");
      rows = t.shape[0];
    }
    for (const auto& [name, t] : given) {
      if (std::find(features.begin(), features.end(), name) == features.end()) {
        return Error::Field("inputs", "the model has no input \"" + name + "\"");
      }
    }
    out.by_rows = true;
    out.rows.assign(static_cast<size_t>(rows), ml::Row(features.size()));
    for (size_t f = 0; f < features.size(); ++f) {
      const Tensor& t = given[features[f]];
      for (int64_t r = 0; r < rows; ++r) {
        if (t.datatype == DataType::kBytes) out.rows[static_cast<size_t>(r)][f] = t.strings[static_cast<size_t>(r)];
        else out.rows[static_cast<size_t>(r)][f] = t.values[static_cast<size_t>(r)];
      }
    }
    return out;
  }
  const ml::Signature& sig = m.model->signature();
  for (const auto& spec : sig.inputs) {
    auto it = given.find(spec.name);
    if (it == given.end()) return Error::Field("inputs", "missing input \"" + spec.name + "\"");
    if (it->second.datatype != spec.datatype) {
      return Error::Field("inputs", "input \"" + spec.name + "\" has datatype " +
                                        std::string(ml::DataTypeName(it->second.datatype)) + "; the model expects " +
                                        std::string(ml::DataTypeName(spec.datatype)));
    }
    out.tensors.push_back(std::move(it->second));
    given.erase(it);
  }
  if (!given.empty()) return Error::Field("inputs", "the model has no input \"" + given.begin()->first + "\"");
  C19_TRY(ml::CheckInputs(sig, out.tensors));
  return out;
}

Result<Json> EncodeV2(const Json& request, const ServedModel& m, const PredictResult& r) {
  Json out = {{"model_name", m.name}, {"model_version", std::to_string(m.version)}};
  if (request.contains("id") && request["id"].is_string()) out["id"] = request["id"];
  std::vector<std::string> wanted;
  if (request.contains("outputs") && request["outputs"].is_array()) {
    for (const auto& o : request["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string()) {
        return Error::Field("outputs", "requested outputs need a name");
      }
      if (o.contains("parameters") && o["parameters"].is_object() && o["parameters"].value("binary_data", false)) {
        return Error::Field("outputs", "the binary tensor data extension is not supported");
      }
      wanted.push_back(o["name"].get<std::string>());
    }
  }
  Json tensors = Json::array();
  for (const auto& name : wanted) {
    bool known = std::any_of(r.output.outputs.begin(), r.output.outputs.end(),
                             [&](const Tensor& t) { return t.name == name; });
    if (!known) return Error::Field("outputs", "the model has no output \"" + name + "\"");
  }
  for (const auto& t : r.output.outputs) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), t.name) == wanted.end()) continue;
    tensors.push_back({{"name", t.name}, {"datatype", ml::DataTypeName(t.datatype)}, {"shape", t.shape},
                       {"data", FlatData(t)}});
  }
  out["outputs"] = tensors;
  return out;
}

Json V2Metadata(const ServedModel& m) {
  auto side = [](const std::vector<TensorSpec>& specs) {
    Json list = Json::array();
    for (const auto& s : specs) list.push_back({{"name", s.name}, {"datatype", ml::DataTypeName(s.datatype)}, {"shape", s.shape}});
    return list;
  };
  std::string platform;
  switch (m.model->framework()) {
    case ml::Framework::kTorchScript: platform = "pytorch_libtorch"; break;
    case ml::Framework::kOnnx: platform = "onnx_opencv"; break;
    case ml::Framework::kXgboost: platform = m.bundle ? "c19ai_bundle" : "xgboost"; break;
    default: platform = "c19ai_bundle";
  }
  const ml::Signature& sig = m.model->signature();
  return {{"name", m.name},
          {"versions", {std::to_string(m.version)}},
          {"platform", platform},
          {"inputs", side(sig.inputs)},
          {"outputs", side(sig.outputs)}};
}

Result<SubmitOptions> NativeOptions(const Json& body) {
  SubmitOptions o;
  if (body.contains("priority")) {
    const Json& p = body["priority"];
    auto parsed = p.is_string() ? ParsePriority(p.get<std::string>()) : std::nullopt;
    if (!parsed) return Error::Field("priority", "priority must be high, normal or low");
    o.priority = *parsed;
  }
  if (body.contains("timeout_ms")) {
    const Json& t = body["timeout_ms"];
    if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > 3'600'000) {
      return Error::Field("timeout_ms", "timeout_ms must be an integer from 1 to 3600000");
    }
    o.timeout_ms = t.get<int64_t>();
  }
  if (body.contains("parameters") && !body["parameters"].is_object()) {
    return Error::Field("parameters", "parameters must be an object");
  }
  return o;
}

Result<SubmitOptions> V2Options(const Json& body) {
  SubmitOptions o;
  if (!body.contains("parameters")) return o;
  const Json& p = body["parameters"];
  if (!p.is_object()) return Error::Field("parameters", "parameters must be an object");
  if (p.contains("priority")) {
    if (!p["priority"].is_number_integer() || p["priority"].get<int64_t>() < 0) {
      return Error::Field("parameters.priority", "priority must be a non-negative integer (1 is the highest)");
    }
    int64_t v = p["priority"].get<int64_t>();
    o.priority = v == 0 || v == 2 ? Priority::kNormal : v == 1 ? Priority::kHigh : Priority::kLow;
  }
  if (p.contains("timeout")) {
    if (!p["timeout"].is_number_integer() || p["timeout"].get<int64_t>() < 1) {
      return Error::Field("parameters.timeout", "timeout must be a positive number of microseconds");
    }
    o.timeout_ms = std::max<int64_t>(1, p["timeout"].get<int64_t>() / 1000);
  }
  return o;
}

Result<PredictInput> DecodeEmbedding(const Json& body, const ServedModel& m) {
  if (!m.model || m.model->BundleTask() != ml::Task::kEmbedding) {
    return Error::FailedPrecondition("model \"" + m.name + "\" version " + std::to_string(m.version) +
                                     " is not an embedding model (train an autoencoder)");
  }
  return DecodeNative(body, m);
}

Result<std::vector<std::vector<float>>> Embeddings(const PredictResult& r) {
  if (r.output.outputs.empty() || r.output.outputs[0].shape.size() != 2) {
    return Error::Internal("the embedding model returned no [rows, dim] output");
  }
  const ml::Tensor& t = r.output.outputs[0];
  const int64_t n = t.shape[0], dim = t.shape[1];
  std::vector<std::vector<float>> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)].assign(t.values.begin() + i * dim, t.values.begin() + (i + 1) * dim);
  }
  return out;
}

}  // namespace c19ai::inference

// Request and response bodies: the native format and the Open Inference Protocol's documented shapes.

#include <gtest/gtest.h>

#include "inference/codec.h"

namespace c19ai::inference {
namespace {

// A model that only describes itself (decoding never runs it).
class Described final : public ml::Model {
 public:
  explicit Described(ml::Signature s, std::vector<std::string> features = {}) : sig_(std::move(s)), f_(std::move(features)) {}
  ml::Framework framework() const override { return ml::Framework::kTorchScript; }
  const ml::Signature& signature() const override { return sig_; }
  int64_t MemoryBytes() const override { return 0; }
  std::vector<std::string> FeatureNames() const override { return f_; }
  std::vector<std::string> ClassNames() const override { return {"no", "yes"}; }
  std::optional<ml::Task> BundleTask() const override {
    return f_.empty() ? std::nullopt : std::optional<ml::Task>(ml::Task::kClassification);
  }
  Result<ml::PredictOutput> Predict(const std::vector<ml::Tensor>&) override { return Error::Internal("not run"); }

 private:
  ml::Signature sig_;
  std::vector<std::string> f_;
};

ml::Signature Sig(std::vector<ml::TensorSpec> in, std::vector<ml::TensorSpec> out) { return {std::move(in), std::move(out)}; }

TEST(NativeCodec, RowsFlatRowsNamedInputsAndErrors) {
  Described m(Sig({{"input", ml::DataType::kFp32, {-1, 4}}}, {{"output", ml::DataType::kFp32, {-1, 3}}}));
  ServedModel s{"iris", 2, &m, false};
  auto rows = DecodeNative(Json::parse(R"({"inputs": [[5.1, 3.5, 1.4, 0.2], [1, 2, 3, 4]]})"), s);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  EXPECT_EQ(rows->tensors[0].shape, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(rows->batch(), 2);
  auto flat = DecodeNative(Json::parse(R"({"inputs": [5.1, 3.5, 1.4, 0.2]})"), s);  // one flat row
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->tensors[0].shape, (std::vector<int64_t>{1, 4}));
  auto named = DecodeNative(Json::parse(R"({"instances": [{"input": [1, 2, 3, 4]}]})"), s);
  ASSERT_TRUE(named.ok()) << named.error().message;
  auto bad = DecodeNative(Json::parse(R"({"inputs": [[1, 2]]})"), s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("[4]"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(DecodeNative(Json::parse(R"({"inputs": [[1, 2, 3, "x"]]})"), s).ok());
  EXPECT_FALSE(DecodeNative(Json::parse(R"({"inputs": [[1, 2, 3, 4], [1, 2, 3]]})"), s).ok());
  EXPECT_FALSE(DecodeNative(Json::parse(R"({"inputs": []})"), s).ok());
  EXPECT_FALSE(DecodeNative(Json::parse(R"({"inputs": [[1,2,3,4]], "instances": []})"), s).ok());

  PredictResult r;
  r.output.outputs.push_back({"output", ml::DataType::kFp32, {2, 3}, {1, 2, 3, 4, 5, 6}, {}});
  Json j = EncodeNative(s, r);
  EXPECT_EQ(j["outputs"], Json::parse("[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]"));
}

TEST(NativeCodec, BundlesTakeRawRowsByPositionOrName) {
  ml::Signature sig = Sig({{"age", ml::DataType::kFp64, {-1}}, {"color", ml::DataType::kBytes, {-1}}}, {});
  Described m(sig, {"age", "color"});
  ServedModel s{"churn", 1, &m, true};
  auto by_pos = DecodeNative(Json::parse(R"({"inputs": [[42, "red"], [null, "blue"]]})"), s);
  ASSERT_TRUE(by_pos.ok()) << by_pos.error().message;
  ASSERT_TRUE(by_pos->by_rows);
  EXPECT_EQ(std::get<double>(by_pos->rows[0][0]), 42);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(by_pos->rows[1][0]));
  auto by_name = DecodeNative(Json::parse(R"({"instances": [{"color": "red"}]})"), s);
  ASSERT_TRUE(by_name.ok());
  EXPECT_TRUE(std::holds_alternative<std::monostate>(by_name->rows[0][0]));  // missing: imputed later
  auto typo = DecodeNative(Json::parse(R"({"instances": [{"colour": "red"}]})"), s);
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("colour"), std::string::npos);

  PredictResult r;
  r.output.labels = {"yes"};
  r.output.probabilities = {{0.25, 0.75}};
  Json j = EncodeNative(s, r);
  EXPECT_EQ(j["outputs"], Json::parse(R"(["yes"])"));
  EXPECT_EQ(j["classes"], Json::parse(R"(["no", "yes"])"));
  EXPECT_EQ(j["probabilities"][0][1], 0.75);
}

// The request and response of the protocol's documentation: typed tensors, flat or nested data,
// an id echoed, requested outputs only.
TEST(V2Codec, DocumentedInferenceRequestAndResponse) {
  Described m(Sig({{"input0", ml::DataType::kUint32, {-1, 2}}, {"input1", ml::DataType::kBool, {-1}}},
                  {{"output0", ml::DataType::kFp32, {-1, 2}}}));
  ServedModel s{"mymodel", 1, &m, false};
  Json request = Json::parse(R"({
    "id": "42",
    "inputs": [
      {"name": "input0", "shape": [2, 2], "datatype": "UINT32", "data": [1, 2, 3, 4]},
      {"name": "input1", "shape": [2], "datatype": "BOOL", "data": [true, false]}
    ],
    "outputs": [{"name": "output0"}]
  })");
  auto in = DecodeV2(request, s);
  ASSERT_TRUE(in.ok()) << in.error().message;
  EXPECT_EQ(in->tensors[0].values, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(in->tensors[1].values, (std::vector<double>{1, 0}));
  // Nested data is row-major: [[1, 2], [3, 4]] is the same tensor.
  request["inputs"][0]["data"] = Json::parse("[[1, 2], [3, 4]]");
  auto nested = DecodeV2(request, s);
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->tensors[0].values, in->tensors[0].values);

  PredictResult r;
  r.output.outputs.push_back({"output0", ml::DataType::kFp32, {3, 2}, {1.0, 1.1, 2.0, 2.1, 3.0, 3.1}, {}});
  r.output.outputs.push_back({"other", ml::DataType::kFp32, {3}, {0, 0, 0}, {}});
  auto out = EncodeV2(request, s, r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, Json::parse(R"({"model_name": "mymodel", "model_version": "1", "id": "42",
      "outputs": [{"name": "output0", "shape": [3, 2], "datatype": "FP32", "data": [1.0, 1.1, 2.0, 2.1, 3.0, 3.1]}]})"));

  Json meta = V2Metadata(s);
  EXPECT_EQ(meta["name"], "mymodel");
  EXPECT_EQ(meta["versions"], Json::parse(R"(["1"])"));
  EXPECT_EQ(meta["platform"], "pytorch_libtorch");
  EXPECT_EQ(meta["inputs"][0], Json::parse(R"({"name": "input0", "datatype": "UINT32", "shape": [-1, 2]})"));
}

TEST(V2Codec, MismatchesAreRefusedWithTheReason) {
  Described m(Sig({{"input", ml::DataType::kFp32, {-1, 4}}}, {}));
  ServedModel s{"m", 1, &m, false};
  auto check = [&](const char* body, const char* needle) {
    auto r = DecodeV2(Json::parse(body), s);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  check(R"({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP64", "data": [1, 2, 3, 4]}]})",
        "expects FP32");
  check(R"({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]})",
        "3 values for shape [1, 4]");
  check(R"({"inputs": [{"name": "input", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]})",
        "dimension 1 must be 4");
  check(R"({"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]})",
        "missing input");
  check(R"({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FLOAT", "data": [1, 2, 3, 4]}]})",
        "unknown datatype");
  check(R"({"inputs": [{"name": "input", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3]]}]})",
        "regular");
  check(R"({"inputs": []})", "inputs");
  check(R"({"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4],
            "parameters": {"binary_data_size": 16}}]})",
        "binary");

  PredictResult r;
  r.output.outputs.push_back({"y", ml::DataType::kInt64, {2}, {3, 4}, {}});
  auto wrong = EncodeV2(Json::parse(R"({"outputs": [{"name": "z"}]})"), s, r);
  ASSERT_FALSE(wrong.ok());
  auto ints = EncodeV2(Json::object(), s, r);
  ASSERT_TRUE(ints.ok());
  EXPECT_EQ((*ints)["outputs"][0]["data"], Json::parse("[3, 4]"));
  EXPECT_TRUE((*ints)["outputs"][0]["data"][0].is_number_integer());
}

TEST(V2Codec, BundlesTakeOneColumnPerFeatureAndOptionsAreRead) {
  Described m(Sig({{"age", ml::DataType::kFp64, {-1}}, {"color", ml::DataType::kBytes, {-1}}}, {}), {"age", "color"});
  ServedModel s{"b", 1, &m, true};
  auto in = DecodeV2(Json::parse(R"({"inputs": [
      {"name": "age", "shape": [2, 1], "datatype": "FP64", "data": [30, 40]},
      {"name": "color", "shape": [2], "datatype": "BYTES", "data": ["red", "blue"]}]})"),
                     s);
  ASSERT_TRUE(in.ok()) << in.error().message;
  ASSERT_EQ(in->rows.size(), 2u);
  EXPECT_EQ(std::get<std::string>(in->rows[1][1]), "blue");

  auto o = V2Options(Json::parse(R"({"parameters": {"priority": 1, "timeout": 250000}})"));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->priority, Priority::kHigh);
  EXPECT_EQ(o->timeout_ms, 250);
  auto n = NativeOptions(Json::parse(R"({"priority": "low", "timeout_ms": 50})"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->priority, Priority::kLow);
  EXPECT_FALSE(NativeOptions(Json::parse(R"({"priority": "urgent"})")).ok());
  EXPECT_FALSE(NativeOptions(Json::parse(R"({"timeout_ms": 0})")).ok());
}

}  // namespace
}  // namespace c19ai::inference

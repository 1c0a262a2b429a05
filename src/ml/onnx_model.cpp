// ONNX models through OpenCV's DNN module (bookworm has no ONNX Runtime). Its importer covers a subset
// of operators, so every upload is checked by a test inference.

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <mutex>

#include "ml/internal.h"

namespace c19ai::ml::internal {

namespace {

class OnnxModel final : public Model {
 public:
  OnnxModel(cv::dnn::Net net, Signature sig, int64_t bytes) : net_(std::move(net)), sig_(std::move(sig)), bytes_(bytes) {
    out_names_ = net_.getUnconnectedOutLayersNames();
  }

  Framework framework() const override { return Framework::kOnnx; }
  const Signature& signature() const override { return sig_; }
  int64_t MemoryBytes() const override { return bytes_ * 2 + 256 * 1024; }

  Result<PredictOutput> Predict(const std::vector<Tensor>& inputs) override {
    C19_TRY(internal::CheckInputs(sig_, inputs));
    try {
      std::lock_guard lock(mu_);  // a cv::dnn::Net holds per-call state
      for (size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& t = inputs[i];
        if (sig_.inputs[i].datatype == DataType::kBytes) {
          return Error::InvalidArgument("ONNX models take numeric tensors; input \"" + sig_.inputs[i].name + "\" is BYTES");
        }
        std::vector<int> dims(t.shape.begin(), t.shape.end());
        cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F);
        float* p = blob.ptr<float>();
        for (size_t k = 0; k < t.values.size(); ++k) p[k] = static_cast<float>(t.values[k]);
        net_.setInput(blob, inputs.size() == 1 ? "" : sig_.inputs[i].name);
      }
      std::vector<cv::Mat> outs;
      net_.forward(outs, out_names_);
      PredictOutput result;
      for (size_t i = 0; i < outs.size(); ++i) {
        cv::Mat m = outs[i].isContinuous() ? outs[i] : outs[i].clone();
        Tensor out;
        out.name = i < sig_.outputs.size() ? sig_.outputs[i].name : out_names_[i];
        out.datatype = DataType::kFp32;
        for (int d = 0; d < m.dims; ++d) out.shape.push_back(m.size[d]);
        const float* q = m.ptr<float>();
        out.values.assign(q, q + m.total());
        result.outputs.push_back(std::move(out));
      }
      return result;
    } catch (const cv::Exception& e) {
      return Error::InvalidArgument(std::string("the model rejected the input: ") + e.what());
    }
  }

 private:
  cv::dnn::Net net_;
  Signature sig_;
  int64_t bytes_;
  std::vector<std::string> out_names_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<Model>> LoadOnnx(std::string_view bytes, const Signature& declared) {
  if (declared.inputs.empty()) {
    return Error::Unprocessable("an ONNX model needs a signature with its inputs (metadata.signature)")
        .WithField("signature");
  }
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    if (net.empty()) return Error::Unprocessable("not a loadable ONNX model");
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::unique_ptr<Model>(new OnnxModel(std::move(net), declared, static_cast<int64_t>(bytes.size())));
  } catch (const cv::Exception& e) {
    return Error::Unprocessable(std::string("not a loadable ONNX model: ") + e.what());
  }
}

void InitOpenCv(int threads) { cv::setNumThreads(threads); }

}  // namespace c19ai::ml::internal

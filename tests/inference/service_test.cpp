// The inference service over a real registry with real TorchScript artifacts: on-demand serving, hot
// swap under load, the memory budget, the result cache, explicit deployments.

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "cache/cache.h"
#include "common/json.h"
#include "common/thread_pool.h"
#include "events/events.h"
#include "inference/codec.h"
#include "inference/inference.h"
#include "registry/registry.h"
#include "support/test_env.h"

namespace c19ai::inference {
namespace {

std::string ReadArtifact(const std::string& name) {
  std::ifstream in(testing::ModelArtifacts() + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Json Expected(const std::string& which) {
  return Json::parse(ReadArtifact("expected.json")).at(which);
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ml::Init(1);
    db_ = std::move(db::Open({.url = "sqlite://" + dir_.path() + "/t.db"})).value();
    auto files = storage::Migrations();
    for (auto set : {registry::Migrations(), Migrations()}) files.insert(files.end(), set.begin(), set.end());
    ASSERT_TRUE(db::Migrate(*db_, files).ok());
    storage::StorageOptions so;
    so.backends["local"] = storage::NewLocalBlobStore(dir_.path() + "/blobs");
    so.primary = "local";
    storage_ = std::move(storage::StorageService::Create(*db_, std::move(so))).value();
    cache_ = cache::NewMemoryCache({});
    bus_ = events::NewInProcessBus();
    registry::Options ro;
    ro.spool_dir = dir_.path() + "/spool";
    ro.bus = bus_.get();
    reg_ = std::move(registry::Registry::Create(*db_, *storage_, ro)).value();
  }
  void StartService(int64_t budget = int64_t{1} << 30) {
    Options o;
    o.memory_budget_bytes = budget;
    o.cache = cache_.get();
    o.bus = bus_.get();
    o.completions = &pool_;
    o.resolve_interval_ms = 200;
    svc_ = std::move(InferenceService::Create(*db_, *reg_, o)).value();
    svc_->Start();
  }
  void TearDown() override {
    if (svc_) svc_->Stop();
  }

  void Register(const std::string& name, std::vector<std::string> files) {
    ASSERT_TRUE(reg_->CreateModel(admin_, {name, "", "classification", "torchscript", {}}).ok());
    for (const auto& f : files) {
      registry::VersionSpec spec;
      spec.signature.inputs.push_back({"input", ml::DataType::kFp32, {-1, 4}});
      spec.signature.outputs.push_back({"output", ml::DataType::kFp32, {-1, 3}});
      auto src = storage::StringSource(ReadArtifact(f));
      auto v = reg_->CreateVersion(admin_, name, *src, spec);
      ASSERT_TRUE(v.ok()) << v.error().message;
    }
  }
  void Promote(const std::string& name, int64_t version) {
    auto v = reg_->SetStage(admin_, name, std::to_string(version), {registry::Stage::kProduction, true, ""});
    ASSERT_TRUE(v.ok()) << v.error().message;
  }

  Result<std::pair<ServedModel, PredictResult>> Predict(const std::string& model, const std::string& version = "",
                                                        Json body = Json::parse(R"({"inputs": [[5.1, 3.5, 1.4, 0.2]]})")) {
    SubmitOptions o;
    o.version = version;
    auto b = std::make_shared<Json>(std::move(body));
    return svc_->PredictSync(model, o, [b](const ServedModel& m) { return DecodeNative(*b, m); });
  }

  // Which artifact answered: compares the first output row with PyTorch's.
  static std::string Which(const PredictResult& r) {
    for (const char* key : {"torchscript", "torchscript2"}) {
      Json e = Expected(key)["outputs"][0];
      bool same = true;
      for (size_t i = 0; i < 3; ++i) same &= std::abs(r.output.outputs[0].values[i] - e[i].get<double>()) < 1e-4;
      if (same) return key;
    }
    return "?";
  }

  testing::TempDir dir_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<storage::StorageService> storage_;
  std::unique_ptr<cache::Cache> cache_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<registry::Registry> reg_;
  ThreadPool pool_{"test-completions", 2, 100000};
  std::unique_ptr<InferenceService> svc_;
  Principal admin_ = Principal::System();
};

TEST_F(ServiceTest, ServesTheProductionVersionOnDemandAndAnyVersionByNumber) {
  Register("iris", {"mlp.pt", "mlp2.pt"});
  StartService();
  auto none = Predict("iris");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_NE(none.error().message.find("no production version"), std::string::npos);
  EXPECT_EQ(Predict("nope").error().code, ErrorCode::kNotFound);

  Promote("iris", 2);
  auto r = Predict("iris");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first.version, 2);
  EXPECT_EQ(Which(r->second), "torchscript2");
  auto v1 = Predict("iris", "1");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(Which(v1->second), "torchscript");
  EXPECT_EQ(Predict("iris", "9").error().code, ErrorCode::kNotFound);
  auto bad = Predict("iris", "", Json::parse(R"({"inputs": [[1, 2]]})"));
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);

  auto deployments = svc_->ListDeployments();
  ASSERT_TRUE(deployments.ok());
  ASSERT_EQ(deployments->size(), 1u);
  EXPECT_EQ((*deployments)[0].served_version, 2);
  EXPECT_EQ((*deployments)[0].versions.size(), 2u);
  EXPECT_GT(svc_->LoadedBytes(), 0);
}

// Promoting back and forth while four threads predict: no request fails, and every request started
// after a promotion returned is answered by the new version.
TEST_F(ServiceTest, HotSwapUnderLoadLosesNoRequest) {
  Register("iris", {"mlp.pt", "mlp2.pt"});
  Promote("iris", 1);
  StartService();
  ASSERT_TRUE(Predict("iris").ok());
  std::atomic<bool> stop{false};
  std::atomic<int64_t> ok{0};
  std::atomic<int64_t> failed{0};
  std::mutex mu;
  std::string first_error;
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        auto r = Predict("iris");
        if (r.ok()) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard lock(mu);
          if (first_error.empty()) first_error = r.error().message;
        }
      }
    });
  }
  for (int i = 0; i < 10; ++i) {
    int64_t version = i % 2 == 0 ? 2 : 1;
    Promote("iris", version);
    auto r = Predict("iris");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->first.version, version) << "promotion " << i;
    EXPECT_EQ(Which(r->second), version == 2 ? "torchscript2" : "torchscript");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0) << first_error;
  EXPECT_GT(ok.load(), 100);
}

TEST_F(ServiceTest, TheMemoryBudgetUnloadsTheLeastRecentlyUsedAndItReloadsOnDemand) {
  Register("a", {"mlp.pt"});
  Register("b", {"mlp2.pt"});
  Promote("a", 1);
  Promote("b", 1);
  StartService(/*budget=*/1);  // room for one model at a time
  ASSERT_TRUE(Predict("a").ok());
  ASSERT_TRUE(Predict("b").ok());
  auto loaded = [&](const std::string& model) {
    auto d = svc_->GetDeployment(model);
    return d.ok() && !d->versions.empty();
  };
  EXPECT_FALSE(loaded("a"));
  EXPECT_TRUE(loaded("b"));
  auto again = Predict("a");  // reloads a, unloads b
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(Which(again->second), "torchscript");
  EXPECT_TRUE(loaded("a"));
  EXPECT_FALSE(loaded("b"));
}

TEST_F(ServiceTest, TheResultCacheNeverServesAnotherVersion) {
  Register("iris", {"mlp.pt", "mlp2.pt"});
  Promote("iris", 1);
  StartService();
  DeploymentSpec spec;
  spec.model = "iris";
  spec.result_cache.enabled = true;
  auto d = svc_->Deploy(admin_, spec);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->explicit_deployment);
  auto first = Predict("iris");
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->second.cached);
  auto second = Predict("iris");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->second.cached);
  EXPECT_EQ(second->second.output.outputs[0].values, first->second.output.outputs[0].values);
  auto other_input = Predict("iris", "", Json::parse(R"({"inputs": [[1, 1, 1, 1]]})"));
  EXPECT_FALSE(other_input->second.cached);

  Promote("iris", 2);
  auto after = Predict("iris");
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->second.cached);
  EXPECT_EQ(after->first.version, 2);
  EXPECT_EQ(Which(after->second), "torchscript2");

  // The deployment survives a restart of the service (it is in the database).
  svc_->Stop();
  StartService();
  auto again = svc_->GetDeployment("iris");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->spec.result_cache.enabled);
  ASSERT_TRUE(svc_->Undeploy(admin_, "iris").ok());
  EXPECT_EQ(svc_->Undeploy(admin_, "iris").error().code, ErrorCode::kNotFound);
}

TEST_F(ServiceTest, DeploymentsFollowAnAliasAndValidateTheirOptions) {
  Register("iris", {"mlp.pt", "mlp2.pt"});
  ASSERT_TRUE(reg_->SetAlias(admin_, "iris", "champion", 1).ok());
  StartService();
  DeploymentSpec spec;
  spec.model = "iris";
  spec.selector = "champion";
  spec.instances = 2;
  ASSERT_TRUE(svc_->Deploy(admin_, spec).ok());
  auto r = Predict("iris");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->first.version, 1);
  ASSERT_TRUE(reg_->SetAlias(admin_, "iris", "champion", 2).ok());
  auto moved = Predict("iris");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->first.version, 2);

  spec.batching.max_batch_size = 0;
  EXPECT_EQ(svc_->Deploy(admin_, spec).error().code, ErrorCode::kInvalidArgument);
  spec.batching.max_batch_size = 8;
  spec.selector = "nosuchalias";
  EXPECT_EQ(svc_->Deploy(admin_, spec).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(*svc_->Ready("iris", ""));
  EXPECT_FALSE(*svc_->Ready("iris", "7"));
}

}  // namespace
}  // namespace c19ai::inference

// Training job commands over HTTP.

#include "app/train_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "app/cli.h"
#include "app/client.h"
#include "common/json.h"
#include "common/text.h"

namespace c19ai::app {

struct TrainCommands {
  CLI::App* train = nullptr;
  CLI::App *submit = nullptr, *list = nullptr, *show = nullptr, *cancel = nullptr, *resume = nullptr;
  ClientFlags client;
  std::string spec_path, id, status, experiment;
  bool follow = false, json = false;
};

namespace {

Result<Json> Request(const ClientFlags& flags, const std::string& method, const std::string& path,
                     const std::string& body = {}) {
  C19_ASSIGN_OR_RETURN(ClientResponse r, Call(flags, method, path, body));
  if (r.status < 200 || r.status >= 300) return ResponseError(r);
  return ParseJson(r.body);
}

std::string Num(const Json& v, const char* fmt = "%.4f") {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v.get<double>());
  return buf;
}

void PrintJob(const Json& j) {
  std::printf("%s  %-10s %-24s experiment=%s epoch %lld/%lld", j.value("id", "").c_str(),
              j.value("status", "").c_str(), j.value("name", "").c_str(), j.value("experiment", "").c_str(),
              static_cast<long long>(j.value("epoch", int64_t{0})), static_cast<long long>(j.value("epochs", int64_t{0})));
  if (j.contains("best") && j["best"].is_object()) {
    std::printf("  best %s %s (epoch %lld)", j["best"].value("metric", "").c_str(), Num(j["best"]["value"]).c_str(),
                static_cast<long long>(j["best"].value("epoch", int64_t{0})));
  }
  if (j.contains("model") && j["model"].is_object()) {
    std::printf("  -> %s v%lld", j["model"].value("name", "").c_str(),
                static_cast<long long>(j["model"].value("version", int64_t{0})));
  }
  if (j.contains("error")) std::printf("  error: %s", j["error"].get<std::string>().c_str());
  std::printf("\n");
}

// Polls the job and its metrics until it ends; one progress line per update (redrawn on a terminal).
int Follow(const ClientFlags& flags, const std::string& id) {
  const bool tty = isatty(STDERR_FILENO);
  int64_t shown = -1;
  std::string metric;
  for (;;) {
    auto job = Request(flags, "GET", "/api/v1/training/jobs/" + id);
    if (!job.ok()) return Fail(job.error());
    metric = (*job)["spec"]["validation"].value("metric", "");
    int64_t epoch = job->value("epoch", int64_t{0}), epochs = job->value("epochs", int64_t{0});
    std::string status = job->value("status", "");
    if (epoch != shown) {
      auto m = Request(flags, "GET", "/api/v1/training/jobs/" + id + "/metrics");
      Json last = m.ok() && !(*m)["items"].empty() ? (*m)["items"].back() : Json::object();
      const int width = 30;
      int filled = epochs > 0 ? static_cast<int>(width * std::min<int64_t>(epoch, epochs) / epochs) : 0;
      std::string bar = std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(width - filled), '.');
      std::fprintf(stderr, "%s[%s] epoch %lld/%lld  loss %s  val_loss %s  %s %s  lr %s%s", tty ? "\r" : "",
                   bar.c_str(), static_cast<long long>(epoch), static_cast<long long>(epochs),
                   Num(last.value("train_loss", Json())).c_str(), Num(last.value("val_loss", Json())).c_str(),
                   metric.c_str(), Num(last.contains("metrics") ? last["metrics"].value(metric, Json()) : Json()).c_str(),
                   Num(last.value("lr", Json()), "%.3g").c_str(), tty ? "   " : "\n");
      shown = epoch;
    }
    if (status == "succeeded" || status == "failed" || status == "cancelled") {
      if (tty) std::fprintf(stderr, "\n");
      PrintJob(*job);
      return status == "succeeded" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

TrainCommands* AddTrainCommands(CLI::App& cli) {
  static TrainCommands c;
  c.train = cli.add_subcommand("train", "Training jobs on a running server");
  c.train->require_subcommand(1);
  c.submit = c.train->add_subcommand("submit", "Submit a job from a JSON spec (see the README's training section)");
  c.submit->add_option("spec", c.spec_path, "spec.json")->required();
  c.submit->add_flag("--follow", c.follow, "show live progress until the job ends (exit 1 unless it succeeds)");
  c.list = c.train->add_subcommand("list", "Jobs, newest first");
  c.list->add_option("--status", c.status, "queued | running | succeeded | failed | cancelled");
  c.list->add_option("--experiment", c.experiment, "only this experiment");
  c.show = c.train->add_subcommand("show", "A job with its per-epoch metrics");
  c.show->add_option("id", c.id, "job id")->required();
  c.cancel = c.train->add_subcommand("cancel", "Cancel a queued or running job");
  c.cancel->add_option("id", c.id, "job id")->required();
  c.resume = c.train->add_subcommand("resume", "Resume a cancelled or failed job from its last checkpoint");
  c.resume->add_option("id", c.id, "job id")->required();
  c.resume->add_flag("--follow", c.follow, "show live progress until the job ends");
  for (auto* sub : {c.submit, c.list, c.show, c.cancel, c.resume}) {
    c.client.Add(sub);
    sub->add_flag("--json", c.json, "print the server's JSON answer");
  }
  return &c;
}

std::optional<int> RunTrainCommands(TrainCommands* c) {
  if (!*c->train) return std::nullopt;
  auto print = [c](const Json& j) {
    if (c->json) std::printf("%s\n", j.dump(2).c_str());
    else PrintJob(j);
  };
  if (*c->submit) {
    std::ifstream in(c->spec_path);
    if (!in) return Fail(Error::Field("spec", "cannot read " + c->spec_path));
    std::stringstream text;
    text << in.rdbuf();
    auto job = Request(c->client, "POST", "/api/v1/training/jobs", text.str());
    if (!job.ok()) return Fail(job.error());
    print(*job);
    return c->follow ? Follow(c->client, job->value("id", "")) : 0;
  }
  if (*c->list) {
    std::string q = "?limit=100";
    if (!c->status.empty()) q += "&status=" + PercentEncode(c->status);
    if (!c->experiment.empty()) q += "&experiment=" + PercentEncode(c->experiment);
    auto jobs = Request(c->client, "GET", "/api/v1/training/jobs" + q);
    if (!jobs.ok()) return Fail(jobs.error());
    if (c->json) {
      std::printf("%s\n", jobs->dump(2).c_str());
    } else {
      for (const auto& j : (*jobs)["items"]) PrintJob(j);
    }
    return 0;
  }
  std::string path = "/api/v1/training/jobs/" + PercentEncode(c->id);
  if (*c->show) {
    auto job = Request(c->client, "GET", path);
    if (!job.ok()) return Fail(job.error());
    auto metrics = Request(c->client, "GET", path + "/metrics");
    if (!metrics.ok()) return Fail(metrics.error());
    if (c->json) {
      std::printf("%s\n", Json{{"job", *job}, {"metrics", (*metrics)["items"]}}.dump(2).c_str());
      return 0;
    }
    PrintJob(*job);
    std::string metric = (*job)["spec"]["validation"].value("metric", "");
    std::printf("%6s %12s %12s %12s %10s %12s\n", "epoch", "train_loss", "val_loss", metric.c_str(), "lr", "samples/s");
    for (const auto& m : (*metrics)["items"]) {
      std::printf("%6lld %12s %12s %12s %10s %12s\n", static_cast<long long>(m.value("epoch", int64_t{0})),
                  Num(m["train_loss"]).c_str(), Num(m["val_loss"]).c_str(), Num(m["metrics"].value(metric, Json())).c_str(),
                  Num(m["lr"], "%.3g").c_str(), Num(m["samples_per_s"], "%.0f").c_str());
    }
    return 0;
  }
  auto job = Request(c->client, "POST", path + (*c->cancel ? "/cancel" : "/resume"));
  if (!job.ok()) return Fail(job.error());
  print(*job);
  if (*c->resume && c->follow) return Follow(c->client, c->id);
  return 0;
}

}  // namespace c19ai::app

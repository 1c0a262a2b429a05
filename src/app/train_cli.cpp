// Training job commands over HTTP.

#include "app/train_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/cli.h"
#include "app/client.h"
#include "common/json.h"
#include "common/text.h"

namespace c19ai::app {

struct TrainCommands {
  CLI::App* train = nullptr;
  CLI::App *submit = nullptr, *list = nullptr, *show = nullptr, *cancel = nullptr, *resume = nullptr;
  CLI::App *experiment_cmd = nullptr, *exp_list = nullptr, *exp_compare = nullptr;
  CLI::App *sweep = nullptr, *sweep_submit = nullptr, *sweep_show = nullptr;
  ClientFlags client;
  std::string spec_path, id, status, experiment;
  std::vector<std::string> jobs;
  bool follow = false, json = false, archived = false;
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

void PrintSweep(const Json& s) {
  std::printf("%s  %-10s %-20s experiment=%s  %lld/%lld trials done  objective %s (%s)\n", s.value("id", "").c_str(),
              s.value("status", "").c_str(), s.value("name", "").c_str(), s.value("experiment", "").c_str(),
              static_cast<long long>(s.value("trials_done", int64_t{0})),
              static_cast<long long>(s.value("max_trials", int64_t{0})), s["objective"].value("metric", "").c_str(),
              s["objective"].value("direction", "").c_str());
  std::printf("%6s %-10s %-26s %12s  %s\n", "trial", "status", "job", "value", "params");
  for (const auto& t : s["trials"]) {
    std::printf("%6lld %-10s %-26s %12s  %s%s\n", static_cast<long long>(t.value("trial", int64_t{0})),
                t.value("status", "").c_str(), t["job_id"].is_string() ? t["job_id"].get<std::string>().c_str() : "-",
                Num(t["value"]).c_str(), t["params"].dump().c_str(), t.value("best", false) ? "  <- best" : "");
  }
  if (s.contains("model") && s["model"].is_object()) {
    std::printf("best trial registered as %s v%lld\n", s["model"].value("name", "").c_str(),
                static_cast<long long>(s["model"].value("version", int64_t{0})));
  }
  if (s.contains("error")) std::printf("error: %s\n", s["error"].get<std::string>().c_str());
}

// Polls the sweep until it ends; a line whenever a trial finishes.
int FollowSweep(const ClientFlags& flags, const std::string& id) {
  int64_t shown = -1;
  for (;;) {
    auto s = Request(flags, "GET", "/api/v1/training/sweeps/" + id);
    if (!s.ok()) return Fail(s.error());
    int64_t done = s->value("trials_done", int64_t{0});
    if (done != shown) {
      std::fprintf(stderr, "%lld/%lld trials done, best %s\n", static_cast<long long>(done),
                   static_cast<long long>(s->value("max_trials", int64_t{0})),
                   (*s)["best"].is_object() ? Num((*s)["best"]["value"]).c_str() : "-");
      shown = done;
    }
    std::string status = s->value("status", "");
    if (status != "running" && status != "finishing") {
      PrintSweep(*s);
      return status == "succeeded" ? 0 : 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  }
}

int RunExperimentCommands(TrainCommands* c) {
  if (*c->exp_list) {
    auto list = Request(c->client, "GET", std::string("/api/v1/experiments") + (c->archived ? "?archived=true" : ""));
    if (!list.ok()) return Fail(list.error());
    if (c->json) {
      std::printf("%s\n", list->dump(2).c_str());
      return 0;
    }
    std::printf("%-28s %6s %10s %10s %-12s %10s  %s\n", "experiment", "runs", "succeeded", "running", "metric", "best",
                "archived");
    for (const auto& e : (*list)["items"]) {
      std::printf("%-28s %6lld %10lld %10lld %-12s %10s  %s\n", e.value("name", "").c_str(),
                  static_cast<long long>(e.value("runs", int64_t{0})),
                  static_cast<long long>(e["by_status"].value("succeeded", int64_t{0})),
                  static_cast<long long>(e["by_status"].value("running", int64_t{0})), e.value("metric", "").c_str(),
                  e["best"].is_object() ? Num(e["best"]["value"]).c_str() : "-", e.value("archived", false) ? "yes" : "");
    }
    return 0;
  }
  std::string ids;
  for (const auto& j : c->jobs) ids += (ids.empty() ? "" : ",") + PercentEncode(j);
  auto cmp = Request(c->client, "GET", "/api/v1/experiments/" + PercentEncode(c->experiment) + "/compare?jobs=" + ids);
  if (!cmp.ok()) return Fail(cmp.error());
  if (c->json) {
    std::printf("%s\n", cmp->dump(2).c_str());
    return 0;
  }
  const Json& runs = (*cmp)["runs"];
  std::printf("%-28s", "");
  for (const auto& r : runs) std::printf(" %-26s", r.value("id", "").c_str());
  std::printf("\n%-28s", "status");
  for (const auto& r : runs) std::printf(" %-26s", r.value("status", "").c_str());
  std::printf("\n");
  for (const auto& p : (*cmp)["differing_params"]) {
    std::string path = p.get<std::string>();
    std::printf("%-28s", path.c_str());
    for (const auto& r : runs) std::printf(" %-26s", r["params"].value(path, std::string("-")).c_str());
    std::printf("\n");
  }
  std::set<std::string> metrics;
  for (const auto& r : runs) {
    if (r["best_metrics"].is_object()) {
      for (const auto& [k, v] : r["best_metrics"].items()) metrics.insert(k);
    }
  }
  for (const auto& m : metrics) {
    std::printf("%-28s", ("best " + m).c_str());
    for (const auto& r : runs) {
      std::printf(" %-26s", r["best_metrics"].is_object() ? Num(r["best_metrics"].value(m, Json())).c_str() : "-");
    }
    std::printf("\n");
  }
  return 0;
}

int RunSweepCommands(TrainCommands* c) {
  if (*c->sweep_submit) {
    std::ifstream in(c->spec_path);
    if (!in) return Fail(Error::Field("spec", "cannot read " + c->spec_path));
    std::stringstream text;
    text << in.rdbuf();
    auto s = Request(c->client, "POST", "/api/v1/training/sweeps", text.str());
    if (!s.ok()) return Fail(s.error());
    if (c->json) std::printf("%s\n", s->dump(2).c_str());
    else PrintSweep(*s);
    return c->follow ? FollowSweep(c->client, s->value("id", "")) : 0;
  }
  auto s = Request(c->client, "GET", "/api/v1/training/sweeps/" + PercentEncode(c->id));
  if (!s.ok()) return Fail(s.error());
  if (c->json) std::printf("%s\n", s->dump(2).c_str());
  else PrintSweep(*s);
  return 0;
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
  c.experiment_cmd = cli.add_subcommand("experiment", "Experiments on a running server");
  c.experiment_cmd->require_subcommand(1);
  c.exp_list = c.experiment_cmd->add_subcommand("list", "Experiments with run counts and the best run");
  c.exp_list->add_flag("--archived", c.archived, "include archived experiments");
  c.exp_compare = c.experiment_cmd->add_subcommand("compare", "Runs side by side: differing params, best metrics");
  c.exp_compare->add_option("experiment", c.experiment, "experiment name")->required();
  c.exp_compare->add_option("jobs", c.jobs, "2 to 10 job ids")->required();
  c.sweep = cli.add_subcommand("sweep", "Hyper-parameter sweeps on a running server");
  c.sweep->require_subcommand(1);
  c.sweep_submit = c.sweep->add_subcommand("submit", "Start a sweep from a JSON spec (see the README's sweeps section)");
  c.sweep_submit->add_option("spec", c.spec_path, "sweep.json")->required();
  c.sweep_submit->add_flag("--follow", c.follow, "wait until the sweep ends (exit 1 unless it succeeds)");
  c.sweep_show = c.sweep->add_subcommand("show", "A sweep's trials, values and best trial");
  c.sweep_show->add_option("id", c.id, "sweep id")->required();
  for (auto* sub : {c.submit, c.list, c.show, c.cancel, c.resume, c.exp_list, c.exp_compare, c.sweep_submit, c.sweep_show}) {
    c.client.Add(sub);
    sub->add_flag("--json", c.json, "print the server's JSON answer");
  }
  return &c;
}

std::optional<int> RunTrainCommands(TrainCommands* c) {
  if (*c->experiment_cmd) return RunExperimentCommands(c);
  if (*c->sweep) return RunSweepCommands(c);
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

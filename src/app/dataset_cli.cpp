// The dataset client commands.

#include "app/dataset_cli.h"

#include <curl/curl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
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

struct DatasetCommands {
  CLI::App* dataset = nullptr;
  CLI::App* upload = nullptr;
  CLI::App* list = nullptr;
  CLI::App* profile = nullptr;
  CLI::App* validate = nullptr;
  ClientFlags client;
  std::string file, name, format, delimiter, ref, schema_file, schema_name;
  bool no_header = false, json = false, with_profile = false, async = false;
  int max_errors = 20;
};

DatasetCommands* AddDatasetCommands(CLI::App& cli) {
  static DatasetCommands c;
  c.dataset = cli.add_subcommand("dataset", "Datasets on a running server: upload, list, profile, validate");
  c.dataset->require_subcommand(1);
  c.upload = c.dataset->add_subcommand("upload", "Upload a CSV or JSON Lines file as the next version of a dataset");
  c.upload->add_option("file", c.file, "the file (.csv, .tsv, .jsonl, .ndjson)")->required();
  c.upload->add_option("--name", c.name, "dataset name (default: the file name without extension)");
  c.upload->add_option("--format", c.format, "csv or jsonl (default: from the extension)");
  c.upload->add_option("--delimiter", c.delimiter, "CSV delimiter (one character, or tab)");
  c.upload->add_flag("--no-header", c.no_header, "the CSV has no header line");
  c.list = c.dataset->add_subcommand("list", "Dataset versions");
  c.list->add_option("--name", c.name, "only this dataset's versions");
  c.profile = c.dataset->add_subcommand("profile", "A dataset's profile: types, missing values, statistics, quality");
  c.profile->add_option("dataset", c.ref, "id, name (latest version) or name@version")->required();
  c.validate = c.dataset->add_subcommand("validate", "Validate a dataset against a schema; exit status 1 when invalid");
  c.validate->add_option("dataset", c.ref, "id, name (latest version) or name@version")->required();
  c.validate->add_option("--schema", c.schema_file, "schema JSON file (ours, or a Great Expectations suite)");
  c.validate->add_option("--schema-name", c.schema_name, "a schema stored on the server (name or name@version)");
  c.validate->add_flag("--profile", c.with_profile, "also profile in the same pass");
  c.validate->add_flag("--async", c.async, "run as a queued job and follow its progress");
  c.validate->add_option("--max-errors", c.max_errors, "failures to print (default 20)");
  for (auto* sub : {c.profile, c.validate, c.list}) sub->add_flag("--json", c.json, "print the server's JSON answer");
  for (auto* sub : {c.upload, c.list, c.profile, c.validate}) c.client.Add(sub);
  return &c;
}

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string BaseUrl(const ClientFlags& f) {
  std::string base = !f.url.empty() ? f.url : !Env("C19AI_URL").empty() ? Env("C19AI_URL") : "http://127.0.0.1:8080";
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

void Bar(const char* what, double fraction, double mb, double seconds) {
  if (!isatty(2)) return;
  int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 30);
  std::fprintf(stderr, "\r%-10s [%s%s] %5.1f%%  %.1f MB  %.1f MB/s ", what, std::string(filled, '#').c_str(),
               std::string(30 - filled, '.').c_str(), fraction * 100, mb, seconds > 0 ? mb / seconds : 0.0);
  std::fflush(stderr);
}

struct UploadState {
  std::ifstream* in;
  int64_t total;
  std::chrono::steady_clock::time_point start;
};

size_t ReadFile(char* buf, size_t size, size_t n, void* p) {
  auto* in = static_cast<UploadState*>(p)->in;
  in->read(buf, static_cast<std::streamsize>(size * n));
  return static_cast<size_t>(in->gcount());
}

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

int Progress(void* p, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto* s = static_cast<UploadState*>(p);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s->start).count();
  Bar("upload", s->total > 0 ? static_cast<double>(ulnow) / static_cast<double>(s->total) : 1.0,
      static_cast<double>(ulnow) / 1e6, secs);
  return 0;
}

// Streams the file as the request body (never held in memory).
Result<ClientResponse> UploadFile(const DatasetCommands& c, const std::string& path, const std::string& query,
                                  const std::string& content_type) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::Field("file", "cannot read " + path);
  in.seekg(0, std::ios::end);
  int64_t size = in.tellg();
  in.seekg(0);
  CURL* curl = curl_easy_init();
  if (!curl) return Error::Internal("curl_easy_init failed");
  curl_slist* headers = nullptr;
  std::string token = !c.client.token.empty() ? c.client.token : Env("C19AI_TOKEN");
  if (!token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  else if (!Env("C19AI_API_KEY").empty()) headers = curl_slist_append(headers, ("X-API-Key: " + Env("C19AI_API_KEY")).c_str());
  headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  headers = curl_slist_append(headers, "Expect:");
  UploadState state{&in, size, std::chrono::steady_clock::now()};
  ClientResponse out;
  std::string url = BaseUrl(c.client) + "/api/v1/datasets?" + query;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadFile);
  curl_easy_setopt(curl, CURLOPT_READDATA, &state);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out.body);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, Progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (isatty(2)) std::fprintf(stderr, "\n");
  if (rc != CURLE_OK) return Error::Unavailable("cannot reach " + BaseUrl(c.client) + ": " + curl_easy_strerror(rc));
  out.status = static_cast<int>(status);
  return out;
}

Result<Json> Ok(const Result<ClientResponse>& r, std::initializer_list<int> statuses = {200}) {
  if (!r.ok()) return r.error();
  bool good = false;
  for (int s : statuses) good |= r->status == s;
  if (!good) return ResponseError(*r);
  return ParseJson(r->body);
}

// One line of text: control characters (line breaks inside quoted CSV fields) shown escaped.
std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else out += c;
  }
  return out;
}

std::string Fmt(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  if (v.is_string()) return OneLine(v.get<std::string>());
  return v.dump();
}

void PrintReport(const Json& rep, int max_errors) {
  const Json& st = rep["statistics"];
  std::printf("%s: %lld rows, %lld with errors, %lld error(s), %lld warning(s); quality score %.1f/100\n",
              rep["is_valid"].get<bool>() ? "VALID" : "INVALID", static_cast<long long>(st["rows"].get<int64_t>()),
              static_cast<long long>(st["rows_with_errors"].get<int64_t>()),
              static_cast<long long>(st["error_count"].get<int64_t>()),
              static_cast<long long>(st["warning_count"].get<int64_t>()), rep["quality_score"].get<double>());
  std::printf("\n%-44s %-16s %-8s %10s %10s  %s\n", "rule", "field", "severity", "checked", "failed", "result");
  for (const auto& r : st["rules"]) {
    std::printf("%-44s %-16s %-8s %10lld %10lld  %s\n", r["rule"].get<std::string>().substr(0, 44).c_str(),
                Fmt(r["field"]).substr(0, 16).c_str(), r["severity"].get<std::string>().c_str(),
                static_cast<long long>(r["checked"].get<int64_t>()), static_cast<long long>(r["failed"].get<int64_t>()),
                r["passed"].get<bool>() ? "ok" : "FAILED");
  }
  for (const char* kind : {"errors", "warnings"}) {
    const Json& list = rep[kind];
    if (list.empty()) continue;
    std::printf("\n%s:\n", kind);
    int n = 0;
    for (const auto& e : list) {
      if (n++ >= max_errors) {
        std::printf("  ... %zu more\n", list.size() - static_cast<size_t>(max_errors));
        break;
      }
      std::string where = e["row"].is_null() ? "dataset" : "row " + std::to_string(e["row"].get<int64_t>());
      std::printf("  %-10s %-16s %-14s %s%s\n", where.c_str(), Fmt(e["field"]).c_str(), e["code"].get<std::string>().c_str(),
                  OneLine(e["message"].get<std::string>()).c_str(),
                  e["value"].is_null() ? "" : (" [value: " + OneLine(e["value"].get<std::string>()) + "]").c_str());
    }
  }
}

void PrintProfile(const Json& p) {
  std::printf("%lld rows, %lld columns, %lld duplicate rows; quality score %.1f/100 (completeness %.3f, validity %.3f, "
              "uniqueness %.3f, consistency %.3f)\n\n",
              static_cast<long long>(p["rows"].get<int64_t>()), static_cast<long long>(p["column_count"].get<int64_t>()),
              static_cast<long long>(p["duplicate_rows"].get<int64_t>()), p["quality_score"].get<double>(),
              p["quality"]["completeness"].get<double>(), p["quality"]["validity"].get<double>(),
              p["quality"]["uniqueness"].get<double>(), p["quality"]["consistency"].get<double>());
  std::printf("%-20s %-11s %9s %9s %9s %12s %12s %12s %12s  %s\n", "column", "type", "count", "missing", "distinct", "min",
              "max", "mean", "std", "top values");
  for (const auto& c : p["columns"]) {
    std::string top;
    for (const auto& t : c["top_values"]) {
      if (top.size() > 40) break;
      top += (top.empty() ? "" : ", ") + OneLine(t["value"].get<std::string>().substr(0, 16)) + " (" +
             std::to_string(t["count"].get<int64_t>()) + ")";
    }
    std::printf("%-20s %-11s %9lld %9lld %9lld %12s %12s %12s %12s  %s\n", c["name"].get<std::string>().substr(0, 20).c_str(),
                c["type"].get<std::string>().c_str(), static_cast<long long>(c["count"].get<int64_t>()),
                static_cast<long long>(c["missing"].get<int64_t>()), static_cast<long long>(c["distinct"].get<int64_t>()),
                Fmt(c.value("min", Json())).c_str(), Fmt(c.value("max", Json())).c_str(), Fmt(c.value("mean", Json())).c_str(),
                Fmt(c.value("std", Json())).c_str(), top.c_str());
  }
}

int Run(DatasetCommands* c) {
  if (*c->upload) {
    std::string lower = ToLower(c->file);
    auto ends = [&](std::string_view s) { return lower.size() >= s.size() && lower.substr(lower.size() - s.size()) == s; };
    std::string format = c->format.empty() ? (ends(".jsonl") || ends(".ndjson") ? "jsonl" : "csv") : c->format;
    if (format != "csv" && format != "jsonl") return Fail(Error::Field("format", "--format must be csv or jsonl"));
    std::string name = c->name;
    if (name.empty()) {
      std::string base = c->file.substr(c->file.find_last_of('/') + 1);
      name = base.substr(0, base.find('.'));
    }
    std::string query = "name=" + PercentEncode(name) + "&format=" + format;
    if (!c->delimiter.empty()) query += "&delimiter=" + PercentEncode(c->delimiter == "\\t" ? "tab" : c->delimiter);
    if (c->no_header) query += "&header=false";
    auto j = Ok(UploadFile(*c, c->file, query, format == "csv" ? "text/csv" : "application/x-ndjson"), {201});
    if (!j.ok()) return Fail(j.error());
    std::printf("uploaded %s v%lld (%s): %lld rows, %zu columns, %lld bytes, sha256 %s\n", (*j)["name"].get<std::string>().c_str(),
                static_cast<long long>((*j)["version"].get<int64_t>()), (*j)["id"].get<std::string>().c_str(),
                static_cast<long long>((*j)["rows"].get<int64_t>()), (*j)["columns"].size(),
                static_cast<long long>((*j)["size"].get<int64_t>()), (*j)["sha256"].get<std::string>().c_str());
    for (const auto& col : (*j)["columns"]) {
      std::printf("  %-24s %s\n", col["name"].get<std::string>().c_str(), col["type"].get<std::string>().c_str());
    }
    return 0;
  }
  if (*c->list) {
    std::string page;
    for (;;) {
      std::string path = "/api/v1/datasets?limit=1000" + (c->name.empty() ? "" : "&name=" + PercentEncode(c->name)) +
                         (page.empty() ? "" : "&page_token=" + PercentEncode(page));
      auto j = Ok(Call(c->client, "GET", path));
      if (!j.ok()) return Fail(j.error());
      if (c->json) {
        std::printf("%s\n", j->dump(2).c_str());
      } else {
        for (const auto& d : (*j)["items"]) {
          std::printf("%-28s v%-4lld %-6s %10lld rows %4zu cols %14lld bytes  %-7s %s  %s\n",
                      d["name"].get<std::string>().c_str(), static_cast<long long>(d["version"].get<int64_t>()),
                      d["format"].get<std::string>().c_str(), static_cast<long long>(d["rows"].get<int64_t>()),
                      d["columns"].size(), static_cast<long long>(d["size"].get<int64_t>()),
                      d["source"].get<std::string>().c_str(), d["created_at"].get<std::string>().c_str(),
                      d["id"].get<std::string>().c_str());
        }
      }
      if ((*j)["next_page_token"].is_null()) break;
      page = (*j)["next_page_token"].get<std::string>();
    }
    return 0;
  }
  if (*c->profile) {
    auto j = Ok(Call(c->client, "GET", "/api/v1/datasets/" + PercentEncode(c->ref) + "/profile"));
    if (!j.ok()) return Fail(j.error());
    if (c->json) std::printf("%s\n", j->dump(2).c_str());
    else PrintProfile(*j);
    return 0;
  }
  // validate
  Json body = {{"profile", c->with_profile}};
  if (c->async) body["async"] = true;
  if (!c->schema_file.empty() == !c->schema_name.empty()) {
    return Fail(Error::Field("schema", "give --schema FILE or --schema-name NAME"));
  }
  if (!c->schema_file.empty()) {
    std::ifstream in(c->schema_file);
    if (!in) return Fail(Error::Field("schema", "cannot read " + c->schema_file));
    std::stringstream ss;
    ss << in.rdbuf();
    auto schema = ParseJsonObject(ss.str(), c->schema_file);
    if (!schema.ok()) return Fail(schema.error());
    if (schema->contains("expectations")) body["expectation_suite"] = *schema;
    else body["schema"] = *schema;
  } else {
    auto at = c->schema_name.rfind('@');
    body["schema_name"] = c->schema_name.substr(0, at);
    if (at != std::string::npos) body["schema_version"] = std::atoll(c->schema_name.c_str() + at + 1);
  }
  auto r = Call(c->client, "POST", "/api/v1/datasets/" + PercentEncode(c->ref) + "/validate", DumpJson(body));
  auto j = Ok(r, {200, 202});
  if (!j.ok()) return Fail(j.error());
  Json report = *j;
  if (r->status == 202) {
    std::string id = (*j)["id"].get<std::string>();
    auto start = std::chrono::steady_clock::now();
    for (;;) {
      auto run = Ok(Call(c->client, "GET", "/api/v1/validations/" + id));
      if (!run.ok()) return Fail(run.error());
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      Bar("validate", (*run)["progress"].get<double>(), 0, secs);
      std::string status = (*run)["status"].get<std::string>();
      if (status == "succeeded") {
        report = (*run)["report"];
        break;
      }
      if (status == "failed") {
        if (isatty(2)) std::fprintf(stderr, "\n");
        return Fail(Error::Internal("validation run " + id + " failed: " + Fmt((*run)["error"])));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (isatty(2)) std::fprintf(stderr, "\n");
  }
  if (c->json) std::printf("%s\n", report.dump(2).c_str());
  else PrintReport(report, c->max_errors);
  return report["is_valid"].get<bool>() ? 0 : 1;
}

}  // namespace

std::optional<int> RunDatasetCommands(DatasetCommands* c) {
  if (!c || !*c->dataset) return std::nullopt;
  return Run(c);
}

}  // namespace c19ai::app

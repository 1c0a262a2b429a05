#include "app/cli.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <fstream>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include "app/app.h"
#include "app/client.h"
#include "auth/auth.h"
#include "common/paging.h"
#include "registry/registry.h"
#include "storage/storage.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "common/text.h"

namespace c19ai::app {

void ConfigFlags::Add(CLI::App* cmd, bool server_flags) {
  cmd->add_option("--config", file, "TOML configuration file (or C19AI_CONFIG)");
  cmd->add_option("--data-dir", data_dir, "data folder (default ./c19ai-data)");
  cmd->add_option("--database", database, "sqlite://PATH or postgresql://...");
  cmd->add_option("--cache", cache, "memory:// or redis://...");
  cmd->add_option("--storage", storage, "file://PATH or s3://bucket?endpoint=...");
  cmd->add_option("--queue", queue, "db:// or redis://...");
  cmd->add_option("--events", events, "memory://, redis://... or postgresql://...");
  cmd->add_option("--log-level", log_level, "debug | info | warn | error | off");
  if (server_flags) {
    cmd->add_option("--host", host, "address to listen on (default 127.0.0.1)");
    cmd->add_option("--port", port, "port to listen on (default 8080; 0 picks a free one)");
  }
  cmd->add_option("--set", sets, "any configuration key: --set server.worker_threads=16")->type_name("KEY=VALUE");
}

Result<Config> ConfigFlags::Load() const {
  ConfigSources src;
  src.file = file;
  auto put = [&](const char* key, const std::string& v) {
    if (!v.empty()) src.flags[key] = v;
  };
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) return Error::InvalidArgument("--set needs KEY=VALUE, got \"" + s + "\"");
    src.flags[s.substr(0, eq)] = s.substr(eq + 1);
  }
  put("data_dir", data_dir);
  put("database.url", database);
  put("cache.url", cache);
  put("storage.url", storage);
  put("queue.url", queue);
  put("events.url", events);
  put("server.host", host);
  put("log.level", log_level);
  if (port >= 0) src.flags["server.port"] = std::to_string(port);
  return LoadConfig(src);
}

int Fail(const Error& e) {
  std::fprintf(stderr, "c19ai: %s\n", e.message.c_str());
  return e.code == ErrorCode::kInvalidArgument ? 2 : 1;
}

void InitLogging(const Config& config, bool quiet) {
  log::Options o;
  log::ParseLevel(config.log.level, o.level);
  if (quiet && o.level < log::Level::kWarn) o.level = log::Level::kWarn;
  o.json = config.log.format != "text";
  o.file = config.log.file;
  log::Init(o);
  for (const auto& w : config.warnings) log::Warn(w);
}

namespace {

// Reads a password from stdin (--password-stdin) or asks twice on the terminal without echo.
Result<std::string> ReadPassword(bool from_stdin) {
  if (from_stdin) {
    std::string line;
    std::getline(std::cin, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    if (line.empty()) return Error::InvalidArgument("no password on standard input");
    return line;
  }
  if (!isatty(STDIN_FILENO)) return Error::InvalidArgument("no terminal to ask for a password: use --password-stdin");
  auto ask = [](const char* prompt) {
    std::fprintf(stderr, "%s", prompt);
    termios old{};
    tcgetattr(STDIN_FILENO, &old);
    termios noecho = old;
    noecho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &noecho);
    std::string s;
    std::getline(std::cin, s);
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::fprintf(stderr, "\n");
    return s;
  };
  std::string a = ask("Password: ");
  std::string b = ask("Repeat password: ");
  if (a != b) return Error::InvalidArgument("the passwords differ");
  return a;
}

std::string OsUser() {
  const char* u = std::getenv("USER");
  return u ? u : "operator";
}

void Audit(auth::AuthService& auth, const std::string& action, const std::string& resource) {
  auth.audit().Record({.actor_name = "cli:" + OsUser(), .action = action, .resource = resource,
                       .details = "{\"via\":\"cli\"}"});
}

Result<auth::User> Resolve(auth::AuthService& auth, const std::string& who) {
  auto byid = auth.GetUser(who);
  if (byid.ok()) return byid;
  auto byname = auth.FindUser(who);
  if (!byname.ok()) return Error::NotFound("no user \"" + who + "\"");
  return byname;
}

void PrintUser(const auth::User& u) {
  std::string roles;
  for (const auto& r : u.roles) roles += (roles.empty() ? "" : ",") + r;
  std::printf("%-36s  %-20s  %-28s  %-24s  %s%s\n", u.id.c_str(), u.username.c_str(), u.email.c_str(), roles.c_str(),
              u.is_active ? "active" : "inactive", u.totp_enabled ? " 2fa" : "");
}

}  // namespace

struct Commands {
  ConfigFlags flags;
  CLI::App* model = nullptr;
  CLI::App* mlist = nullptr;
  CLI::App* retention = nullptr;
  CLI::App* mverify = nullptr;
  CLI::App* predict = nullptr;
  CLI::App* deploy = nullptr;
  CLI::App* undeploy = nullptr;
  CLI::App* deployments = nullptr;
  ClientFlags client;
  std::string input, selector_version, selector_stage, selector_alias;
  bool by_name = false, no_batching = false, result_cache = false;
  int max_batch_size = 0, instances = 0;
  int64_t max_queue_delay_us = -1;
  std::string older_than, model_name, version = "production";
  bool apply = false;
  CLI::App* storage = nullptr;
  CLI::App* gc = nullptr;
  CLI::App* reencrypt = nullptr;
  CLI::App* replicate = nullptr;
  CLI::App* sstats = nullptr;
  bool gc_delete = false;
  std::string grace = "1h", from_backend, to_backend, prefix;
  CLI::App* user = nullptr;
  CLI::App* create = nullptr;
  CLI::App* list = nullptr;
  CLI::App* set_roles = nullptr;
  CLI::App* reset = nullptr;
  CLI::App* deactivate = nullptr;
  CLI::App* activate = nullptr;
  std::string username, email, display_name, search, who;
  std::vector<std::string> roles;
  bool admin = false;
  bool password_stdin = false;
};

Commands* AddCommands(CLI::App& cli) {
  static Commands c;
  c.user = cli.add_subcommand("user", "Manage users directly in the database (operators)");
  c.user->require_subcommand(1);
  c.create = c.user->add_subcommand("create", "Create a user (--admin for the first administrator)");
  c.create->add_option("--username", c.username, "user name")->required();
  c.create->add_option("--email", c.email, "email address")->required();
  c.create->add_option("--display-name", c.display_name, "display name");
  c.create->add_option("--role", c.roles, "role to grant (repeatable; default viewer)");
  c.create->add_flag("--admin", c.admin, "grant the admin role");
  c.create->add_flag("--password-stdin", c.password_stdin, "read the password from standard input");
  c.list = c.user->add_subcommand("list", "List users");
  c.list->add_option("--search", c.search, "substring of name or email");
  c.set_roles = c.user->add_subcommand("set-roles", "Replace a user's roles");
  c.set_roles->add_option("user", c.who, "user name or id")->required();
  c.set_roles->add_option("roles", c.roles, "roles")->required();
  c.reset = c.user->add_subcommand("reset-password", "Set a new password (signs the user out everywhere)");
  c.reset->add_option("user", c.who, "user name or id")->required();
  c.reset->add_flag("--password-stdin", c.password_stdin, "read the password from standard input");
  c.deactivate = c.user->add_subcommand("deactivate", "Deactivate a user (signs them out everywhere)");
  c.deactivate->add_option("user", c.who, "user name or id")->required();
  c.activate = c.user->add_subcommand("activate", "Re-activate a user");
  c.activate->add_option("user", c.who, "user name or id")->required();
  for (auto* sub : {c.create, c.list, c.set_roles, c.reset, c.deactivate, c.activate}) c.flags.Add(sub, false);

  c.storage = cli.add_subcommand("storage", "Blob storage maintenance");
  c.storage->require_subcommand(1);
  c.gc = c.storage->add_subcommand("gc", "Find blobs that no metadata points at (and remove them with --delete)");
  c.gc->add_flag("--delete", c.gc_delete, "remove the orphans found");
  c.gc->add_option("--grace", c.grace, "ignore blobs younger than this (uploads in progress); default 1h");
  c.reencrypt = c.storage->add_subcommand("reencrypt",
                                          "Rewrite objects on encrypted backends that use an older key");
  c.replicate = c.storage->add_subcommand("replicate", "Copy objects to another backend now (resumable)");
  c.replicate->add_option("--from", c.from_backend, "source backend")->required();
  c.replicate->add_option("--to", c.to_backend, "target backend")->required();
  c.replicate->add_option("--prefix", c.prefix, "only keys under this prefix, e.g. files/");
  c.sstats = c.storage->add_subcommand("stats", "Objects and bytes per backend and prefix");
  for (auto* sub : {c.gc, c.reencrypt, c.replicate, c.sstats}) c.flags.Add(sub, false);

  c.model = cli.add_subcommand("model", "Model registry maintenance");
  c.model->require_subcommand(1);
  c.mlist = c.model->add_subcommand("list", "Registered models with their latest and production versions");
  c.mlist->add_option("--search", c.search, "substring of the name");
  c.retention = c.model->add_subcommand(
      "retention", "Remove the artifacts of versions archived longer than --older-than (metadata is kept)");
  c.retention->add_option("--older-than", c.older_than, "a duration such as 90d")->required();
  c.retention->add_flag("--apply", c.apply, "remove them (without it, only list what would go)");
  c.mverify = c.model->add_subcommand("verify", "Recompute a version's SHA-256 and load it with its framework");
  c.mverify->add_option("model", c.model_name, "model name")->required();
  c.mverify->add_option("version", c.version, "version, alias, latest, production (default) or staging");
  for (auto* sub : {c.mlist, c.retention, c.mverify}) c.flags.Add(sub, false);

  // Client commands (talk to a running server).
  c.predict = cli.add_subcommand("predict", "Predict with a served model: rows from a JSON or CSV file");
  c.predict->add_option("model", c.model_name, "model name")->required();
  c.predict->add_option("--input", c.input, "rows.json (a list of rows, or a request body) or rows.csv (a header line)")
      ->required();
  c.predict->add_option("--version", c.selector_version, "a version, alias or stage (default: production)");
  c.predict->add_flag("--by-name", c.by_name, "CSV: send rows by column name (instances) instead of in order");
  c.deploy = c.model->add_subcommand("deploy", "Deploy a model on the server with serving options");
  c.deploy->add_option("model", c.model_name, "model name")->required();
  c.deploy->add_option("--version", c.selector_version, "serve this version");
  c.deploy->add_option("--stage", c.selector_stage, "serve the version in this stage (production, staging)");
  c.deploy->add_option("--alias", c.selector_alias, "serve the version an alias points at");
  c.deploy->add_option("--max-batch-size", c.max_batch_size, "rows per model call");
  c.deploy->add_option("--max-queue-delay-us", c.max_queue_delay_us, "how long a request may wait to be batched");
  c.deploy->add_option("--instances", c.instances, "model copies");
  c.deploy->add_flag("--no-batching", c.no_batching, "one request per model call");
  c.deploy->add_flag("--result-cache", c.result_cache, "cache results by version and input");
  c.undeploy = c.model->add_subcommand("undeploy", "Undeploy a model (it is then served on demand)");
  c.undeploy->add_option("model", c.model_name, "model name")->required();
  c.deployments = c.model->add_subcommand("deployments", "Deployments and loaded models on the server");
  for (auto* sub : {c.predict, c.deploy, c.undeploy, c.deployments}) c.client.Add(sub);
  return &c;
}

namespace {

// A CSV line split at commas, honouring double quotes.
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        out.back() += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      out.emplace_back();
    } else if (ch != '\r') {
      out.back() += ch;
    }
  }
  return out;
}

Json CsvValue(const std::string& v) {
  if (v.empty()) return nullptr;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (end && *end == '\0') return d;
  return v;
}

Result<std::string> PredictBody(const std::string& path, bool by_name) {
  std::ifstream in(path);
  if (!in) return Error::Field("input", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (path.size() > 4 && path.substr(path.size() - 4) == ".csv") {
    std::istringstream lines(text);
    std::string line;
    if (!std::getline(lines, line)) return Error::Field("input", path + " is empty");
    std::vector<std::string> header = CsvFields(line);
    Json rows = Json::array();
    while (std::getline(lines, line)) {
      if (Trim(line).empty()) continue;
      auto fields = CsvFields(line);
      if (fields.size() != header.size()) {
        return Error::Field("input", path + ": a row has " + std::to_string(fields.size()) + " fields, the header " +
                                         std::to_string(header.size()));
      }
      if (by_name) {
        Json obj = Json::object();
        for (size_t i = 0; i < header.size(); ++i) obj[header[i]] = CsvValue(fields[i]);
        rows.push_back(obj);
      } else {
        Json row = Json::array();
        for (const auto& f : fields) row.push_back(CsvValue(f));
        rows.push_back(row);
      }
    }
    return DumpJson(Json{{by_name ? "instances" : "inputs", rows}});
  }
  C19_ASSIGN_OR_RETURN(Json j, ParseJson(text));
  if (j.is_array()) return DumpJson(Json{{"inputs", j}});
  if (j.is_object()) return DumpJson(j);
  return Error::Field("input", path + " must hold a list of rows or a request object");
}

int RunClient(Commands* c) {
  auto print_or_fail = [](const Result<ClientResponse>& r) {
    if (!r.ok()) return Fail(r.error());
    if (r->status < 200 || r->status >= 300) return Fail(ResponseError(*r));
    std::printf("%s\n", r->body.c_str());
    return 0;
  };
  std::string name = PercentEncode(c->model_name);
  if (*c->predict) {
    auto body = PredictBody(c->input, c->by_name);
    if (!body.ok()) return Fail(body.error());
    std::string path = "/api/v1/models/" + name +
                       (c->selector_version.empty() ? "" : "/versions/" + PercentEncode(c->selector_version)) +
                       "/predict";
    return print_or_fail(Call(c->client, "POST", path, *body));
  }
  if (*c->deploy) {
    Json body = Json::object();
    if (!c->selector_version.empty()) {
      char* end = nullptr;
      long v = std::strtol(c->selector_version.c_str(), &end, 10);
      if (!end || *end != '\0') return Fail(Error::Field("version", "--version must be a number"));
      body["version"] = v;
    }
    if (!c->selector_stage.empty()) body["stage"] = c->selector_stage;
    if (!c->selector_alias.empty()) body["alias"] = c->selector_alias;
    Json batching = Json::object();
    if (c->no_batching) batching["enabled"] = false;
    if (c->max_batch_size > 0) batching["max_batch_size"] = c->max_batch_size;
    if (c->max_queue_delay_us >= 0) batching["max_queue_delay_us"] = c->max_queue_delay_us;
    if (!batching.empty()) body["batching"] = batching;
    if (c->instances > 0) body["instances"] = c->instances;
    if (c->result_cache) body["result_cache"] = {{"enabled", true}};
    return print_or_fail(Call(c->client, "POST", "/api/v1/models/" + name + "/deploy", DumpJson(body)));
  }
  if (*c->undeploy) {
    auto r = Call(c->client, "DELETE", "/api/v1/deployments/" + name);
    if (!r.ok()) return Fail(r.error());
    if (r->status != 204) return Fail(ResponseError(*r));
    std::printf("undeployed %s\n", c->model_name.c_str());
    return 0;
  }
  auto r = Call(c->client, "GET", "/api/v1/deployments");
  if (!r.ok()) return Fail(r.error());
  if (r->status != 200) return Fail(ResponseError(*r));
  Json j = Json::parse(r->body, nullptr, false);
  for (const auto& d : j.value("items", Json::array())) {
    std::string versions;
    for (const auto& v : d["versions"]) {
      versions += (versions.empty() ? "" : " ") + std::to_string(v["version"].get<int64_t>()) + ":" +
                  v["state"].get<std::string>();
    }
    std::printf("%-32s %-9s served=%-4s selector=%-12s versions=[%s]\n", d["model"].get<std::string>().c_str(),
                d["explicit"].get<bool>() ? "deployed" : "on-demand",
                d["served_version"].is_null() ? "-" : std::to_string(d["served_version"].get<int64_t>()).c_str(),
                d["spec"]["selector"].get<std::string>().c_str(), versions.c_str());
  }
  return 0;
}

}  // namespace

int RunModel(Commands* c, App& app) {
  registry::Registry& r = app.registry();
  Principal system = Principal::System();
  if (*c->mlist) {
    registry::SearchQuery q;
    q.name_contains = c->search;
    q.limit = kMaxPageSize;
    for (;;) {
      auto page = r.SearchModels(q);
      if (!page.ok()) return Fail(page.error());
      for (const auto& m : page->items) {
        std::printf("%-32s %-15s %-12s latest=%-4s production=%-4s owner=%s\n", m.name.c_str(), m.model_type.c_str(),
                    m.framework.c_str(), m.latest_version ? std::to_string(*m.latest_version).c_str() : "-",
                    m.production_version ? std::to_string(*m.production_version).c_str() : "-", m.owner_name.c_str());
      }
      if (page->next_page_token.empty()) break;
      q.page_token = page->next_page_token;
    }
  } else if (*c->retention) {
    int64_t ms = 0;
    if (!ParseDurationMs(c->older_than, ms)) {
      return Fail(Error::Field("older-than", "--older-than must be a duration like 90d"));
    }
    auto rep = r.ApplyRetention(system, ms, !c->apply);
    if (!rep.ok()) return Fail(rep.error());
    for (const auto& [model, version] : rep->versions) std::printf("%s\t%lld\n", model.c_str(), static_cast<long long>(version));
    std::printf("%zu archived version(s), %lld bytes%s\n", rep->versions.size(), static_cast<long long>(rep->bytes),
                c->apply ? " removed (metadata kept)" : " would be removed (use --apply)");
  } else if (*c->mverify) {
    auto rep = r.Verify(system, c->model_name, c->version);
    if (!rep.ok()) return Fail(rep.error());
    std::printf("%s: sha256 %s, %s%s\n", rep->ok ? "ok" : "FAILED", rep->expected_sha256.c_str(),
                rep->loads ? "loads" : "does not load", rep->problem.empty() ? "" : (" - " + rep->problem).c_str());
    return rep->ok ? 0 : 1;
  }
  return 0;
}

int RunStorage(Commands* c, App& app) {
  storage::StorageService& s = app.storage();
  Status st;
  if (*c->gc) {
    int64_t grace = 0;
    if (!ParseDurationMs(c->grace, grace)) return Fail(Error::Field("grace", "--grace must be a duration like 1h"));
    auto report = s.CollectGarbage(c->gc_delete, grace);
    if (!report.ok()) return Fail(report.error());
    for (const auto& [backend, key] : report->orphans) std::printf("%s\t%s\n", backend.c_str(), key.c_str());
    std::printf("%zu orphaned blob(s), %lld bytes%s\n", report->orphans.size(), static_cast<long long>(report->bytes),
                c->gc_delete ? (", " + std::to_string(report->removed) + " removed").c_str() : " (use --delete to remove)");
  } else if (*c->reencrypt) {
    auto n = s.ReencryptAll();
    if (!n.ok()) return Fail(n.error());
    std::printf("%lld object(s) re-encrypted with the active key\n", static_cast<long long>(*n));
  } else if (*c->replicate) {
    auto r = s.StartReplication(c->from_backend, c->to_backend, c->prefix);
    if (!r.ok()) return Fail(r.error());
    if (Status run = s.RunReplications(); !run.ok()) return Fail(run.error());
    auto done = s.GetReplication(r->id);
    if (!done.ok()) return Fail(done.error());
    std::printf("replication %s: %s, %lld copied, %lld skipped, %lld failed, %lld bytes\n", done->id.c_str(),
                done->status.c_str(), static_cast<long long>(done->copied), static_cast<long long>(done->skipped),
                static_cast<long long>(done->failed), static_cast<long long>(done->bytes));
    if (done->failed > 0) return 1;
  } else if (*c->sstats) {
    auto stats = s.Stats();
    if (!stats.ok()) return Fail(stats.error());
    for (const auto& u : stats->usage) {
      std::printf("%-12s %-40s %10lld objects %14lld bytes\n", u.backend.c_str(), u.prefix.c_str(),
                  static_cast<long long>(u.objects), static_cast<long long>(u.bytes));
    }
    std::printf("total: %lld objects, %lld bytes\n", static_cast<long long>(stats->objects),
                static_cast<long long>(stats->bytes));
  }
  return 0;
}

std::optional<int> RunCommands(Commands* c) {
  if (*c->predict || *c->deploy || *c->undeploy || *c->deployments) return RunClient(c);
  if (*c->model) {
    auto config = c->flags.Load();
    if (!config.ok()) return Fail(config.error());
    InitLogging(*config, /*quiet=*/true);
    auto app = App::Create(*config);
    if (!app.ok()) return Fail(app.error());
    int code = RunModel(c, **app);
    (*app)->Shutdown();
    return code;
  }
  if (*c->storage) {
    auto config = c->flags.Load();
    if (!config.ok()) return Fail(config.error());
    InitLogging(*config, /*quiet=*/true);
    auto app = App::Create(*config);
    if (!app.ok()) return Fail(app.error());
    int code = RunStorage(c, **app);
    (*app)->Shutdown();
    return code;
  }
  if (!*c->user) return std::nullopt;
  auto config = c->flags.Load();
  if (!config.ok()) return Fail(config.error());
  InitLogging(*config, /*quiet=*/true);
  auto app = App::Create(*config);
  if (!app.ok()) return Fail(app.error());
  auth::AuthService& auth = (*app)->auth();
  int code = 0;
  auto run = [&]() -> Status {
    if (*c->create) {
      C19_ASSIGN_OR_RETURN(std::string password, ReadPassword(c->password_stdin));
      std::vector<std::string> roles = c->roles;
      if (c->admin) roles.push_back("admin");
      C19_ASSIGN_OR_RETURN(auth::User u, auth.CreateUser({c->username, c->email, password, c->display_name, roles}));
      Audit(auth, "user.create", "user:" + u.id);
      PrintUser(u);
    } else if (*c->list) {
      C19_ASSIGN_OR_RETURN(auto users, auth.ListUsers({1000, 0, c->search}));
      for (const auto& u : users) PrintUser(u);
    } else if (*c->set_roles) {
      C19_ASSIGN_OR_RETURN(auth::User u, Resolve(auth, c->who));
      C19_ASSIGN_OR_RETURN(auth::User updated, auth.SetRoles(u.id, c->roles));
      Audit(auth, "user.set_roles", "user:" + u.id);
      PrintUser(updated);
    } else if (*c->reset) {
      C19_ASSIGN_OR_RETURN(auth::User u, Resolve(auth, c->who));
      C19_ASSIGN_OR_RETURN(std::string password, ReadPassword(c->password_stdin));
      C19_TRY(auth.ResetPassword(u.id, password));
      Audit(auth, "user.password_reset", "user:" + u.id);
      std::printf("password of %s reset; their sessions are revoked\n", u.username.c_str());
    } else if (*c->deactivate || *c->activate) {
      C19_ASSIGN_OR_RETURN(auth::User u, Resolve(auth, c->who));
      bool active = static_cast<bool>(*c->activate);
      C19_ASSIGN_OR_RETURN(auth::User updated, auth.UpdateUser(u.id, {.is_active = active}));
      Audit(auth, active ? "user.activate" : "user.deactivate", "user:" + u.id);
      PrintUser(updated);
    }
    return OkStatus();
  };
  Status st = run();
  if (!st.ok()) code = Fail(st.error());
  (*app)->Shutdown();
  return code;
}

}  // namespace c19ai::app

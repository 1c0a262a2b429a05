#include "common/config.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <set>

#include <toml++/toml.h>

#include "common/text.h"

extern char** environ;

namespace c19ai {

namespace {

enum class Kind { kString, kInt, kBool, kBytes, kDuration, kList };

struct KeyDef {
  const char* key;
  Kind kind;
  const char* default_value;  // "{data_dir}" is replaced by the effective data_dir
  const char* help;
  bool secret = false;
  std::vector<const char*> env_aliases = {};
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
};

const std::vector<KeyDef>& Keys() {
  static const std::vector<KeyDef> kKeys = {
      {"data_dir", Kind::kString, "./c19ai-data", "folder for the embedded database, blobs and generated secrets"},
      {"server.host", Kind::kString, "127.0.0.1", "address to listen on (0.0.0.0 binds every interface)",
       false, {"C19AI_HOST"}},
      {"server.port", Kind::kInt, "8080", "TCP port (0 picks a free one)", false, {"C19AI_PORT"}, 0, 65535},
      {"server.io_threads", Kind::kInt, "0", "threads running the network event loops (0: one per core)", false, {},
       0, 256},
      {"server.worker_threads", Kind::kInt, "8", "threads for blocking request work (database, files)", false, {}, 1,
       1024},
      {"server.worker_queue", Kind::kInt, "1024", "requests waiting for a worker thread before 503", false, {}, 1,
       1000000},
      {"server.max_connections", Kind::kInt, "20000", "open connections before new ones are refused", false, {}, 1,
       10000000},
      {"server.max_header_bytes", Kind::kBytes, "16KiB", "largest request head (431 above)", false, {}, 1024,
       1 << 24},
      {"server.max_body_bytes", Kind::kBytes, "16MiB", "default limit of buffered request bodies (413 above)", false,
       {}, 1024, int64_t{1} << 40},
      {"server.header_timeout", Kind::kDuration, "30s", "time allowed for a request head, and idle keep-alive",
       false, {}, 100, 86'400'000},
      {"server.body_timeout", Kind::kDuration, "60s", "time allowed between two reads of a request body", false, {},
       100, 86'400'000},
      {"server.write_timeout", Kind::kDuration, "60s", "time allowed for the client to accept a response write",
       false, {}, 100, 86'400'000},
      {"server.shutdown_timeout", Kind::kDuration, "15s", "time in-flight requests get after SIGTERM", false, {}, 0,
       3'600'000},
      {"server.tls_cert", Kind::kString, "", "PEM certificate chain; with tls_key enables HTTPS on the listener"},
      {"server.tls_key", Kind::kString, "", "PEM private key for tls_cert", true},
      {"server.cors_origins", Kind::kList, "", "origins allowed by CORS (comma-separated; * for any)"},
      {"server.static_dir", Kind::kString, "", "folder with the web console (default: the build's web/dist)"},
      {"server.access_log", Kind::kBool, "true", "one JSON line per request"},
      {"database.url", Kind::kString, "sqlite://{data_dir}/c19ai.db", "sqlite://PATH or postgresql://...", true,
       {}},
      {"database.pool_size", Kind::kInt, "8", "connections kept by the pool", false, {}, 1, 1000},
      {"database.busy_timeout", Kind::kDuration, "5s", "SQLite: how long a writer waits for the lock", false, {}, 0,
       600'000},
      {"database.acquire_timeout", Kind::kDuration, "5s", "how long a request waits for a pooled connection", false,
       {}, 1, 600'000},
      {"cache.url", Kind::kString, "memory://", "memory:// or redis://host:port/db (L2 behind memory)", true},
      {"cache.memory_bytes", Kind::kBytes, "256MiB", "byte budget of the in-process cache", false, {}, 1 << 16,
       int64_t{1} << 40},
      {"cache.l1_ttl", Kind::kDuration, "5s", "with Redis: how long a value may be served from memory", false, {},
       0, 3'600'000},
      {"cache.redis_pool", Kind::kInt, "8", "Redis connections kept", false, {}, 1, 256},
      {"cache.redis_timeout", Kind::kDuration, "200ms", "Redis command timeout (slower answers are misses)", false,
       {}, 1, 60'000},
      {"storage.url", Kind::kString, "file://{data_dir}/blobs", "file://PATH or s3://bucket?endpoint=...", true},
      {"storage.backends", Kind::kList, "",
       "several backends as name=url entries (storage.url is used when empty)", true},
      {"storage.primary", Kind::kString, "", "backend new objects go to (default: the first)"},
      {"storage.encrypt", Kind::kList, "", "backend names whose objects are encrypted at rest"},
      {"storage.encryption_keys", Kind::kString, "",
       "id:base64-32-byte-key entries, comma-separated; the first encrypts, all decrypt", true},
      {"storage.verify_on_read", Kind::kBool, "false", "check the SHA-256 at the end of every full read"},
      {"storage.cleaner_interval", Kind::kDuration, "30s", "how often expired objects are removed", false, {},
       100, 86'400'000},
      {"storage.max_file_size", Kind::kBytes, "64GiB", "largest object the files API accepts", false, {}, 1,
       int64_t{1} << 50},
      {"storage.s3_access_key", Kind::kString, "", "S3 access key (or AWS_ACCESS_KEY_ID)", true,
       {"C19AI_S3_ACCESS_KEY"}},
      {"storage.s3_secret_key", Kind::kString, "", "S3 secret key (or AWS_SECRET_ACCESS_KEY)", true,
       {"C19AI_S3_SECRET_KEY"}},
      {"registry.max_artifact_size", Kind::kBytes, "4GiB", "largest model artifact an upload may carry", false, {},
       1, int64_t{1} << 40},
      {"ml.intra_op_threads", Kind::kInt, "1",
       "threads one inference or training step may use (LibTorch intra-op; OpenBLAS stays at one)", false, {}, 1, 256},
      {"inference.max_batch_size", Kind::kInt, "32", "rows per model call (dynamic batching)", false, {}, 1, 4096},
      {"inference.max_queue_delay_us", Kind::kInt, "0",
       "microseconds a request may wait for others to batch with (0: take what is queued)", false, {}, 0,
       10'000'000},
      {"inference.max_queue_size", Kind::kInt, "1024", "requests queued per model version before 429", false, {}, 1,
       1'000'000},
      {"inference.instances", Kind::kInt, "1", "model copies per loaded version, each with a batch thread", false, {},
       1, 64},
      {"inference.memory_budget", Kind::kBytes, "2GiB", "memory for loaded models; the least recently used go first",
       false, {}, 1 << 20, int64_t{1} << 44},
      {"inference.timeout", Kind::kDuration, "30s", "default deadline of a prediction", false, {}, 1, 3'600'000},
      {"inference.resolve_interval", Kind::kDuration, "5s",
       "how often served versions are re-checked against the registry (besides events)", false, {}, 100,
       3'600'000},
      {"inference.max_request_size", Kind::kBytes, "16MiB", "largest prediction request body", false, {}, 1024,
       int64_t{1} << 32},
      {"workers.embedded", Kind::kBool, "true",
       "run background jobs (batch predictions) in this process; off for API-only replicas"},
      {"workers.batch_predictions", Kind::kInt, "1", "batch prediction jobs run at once by this process", false, {},
       1, 64},
      {"workers.training", Kind::kInt, "1", "training jobs run at once by this process", false, {}, 1, 64},
      {"workers.training_threads", Kind::kInt, "2", "threads one training job may use (XGBoost)", false, {}, 1, 256},
      {"workers.validations", Kind::kInt, "1", "dataset validation jobs run at once by this process", false, {}, 1, 64},
      {"validation.max_upload_size", Kind::kBytes, "8GiB", "largest dataset upload", false, {}, 1,
       int64_t{1} << 44},
      {"validation.inline_max_size", Kind::kBytes, "64MiB",
       "datasets larger than this validate as queue jobs (202 and a run to follow)", false, {}, 0, int64_t{1} << 44},
      {"validation.max_examples", Kind::kInt, "20", "failures reported per rule (counts stay complete)", false, {}, 0,
       100000},
      {"validation.max_issues", Kind::kInt, "1000", "failures reported per validation", false, {}, 0, 1000000},
      {"queue.url", Kind::kString, "db://", "db:// (tables in the database) or redis://...", true},
      {"events.url", Kind::kString, "memory://", "memory://, redis://... or postgresql://... for fan-out", true},
      {"auth.allow_registration", Kind::kBool, "true", "whether anyone may create an account (role viewer)"},
      {"auth.jwt_secret", Kind::kString, "", "HS256 signing key (>= 32 characters); empty: generated and stored", true},
      {"auth.access_token_ttl", Kind::kDuration, "15m", "lifetime of access tokens", false, {}, 10'000,
       86'400'000},
      {"auth.refresh_token_ttl", Kind::kDuration, "30d", "lifetime of a session (refresh tokens)", false, {},
       60'000, 366LL * 86'400'000},
      {"auth.revocation_delay", Kind::kDuration, "2s",
       "how long a replica may keep answering from cached session state after a revocation", false, {}, 0,
       60'000},
      {"auth.password_min_length", Kind::kInt, "12", "shortest password accepted", false, {}, 8, 256},
      {"auth.password_reject_common", Kind::kBool, "true", "refuse passwords from the built-in common list"},
      {"auth.argon2_memory", Kind::kBytes, "64MiB",
       "Argon2id memory per hash (OWASP minimum 19MiB; lower only for tests)", false, {}, 8192, int64_t{4} << 30},
      {"auth.argon2_iterations", Kind::kInt, "3", "Argon2id passes (OWASP minimum 2)", false, {}, 1, 100},
      {"auth.login_max_failures", Kind::kInt, "5", "consecutive failed sign-ins (per account or address) before "
                                                   "throttling", false, {}, 1, 1000},
      {"auth.lockout_base", Kind::kDuration, "2s", "first lockout; doubles with each further failure", false, {},
       0, 86'400'000},
      {"auth.lockout_max", Kind::kDuration, "15m", "longest lockout", false, {}, 0, 86'400'000},
      {"auth.admin_user", Kind::kString, "admin", "name of the first admin created from auth.admin_password", false,
       {"C19AI_ADMIN_USER"}},
      {"auth.admin_password", Kind::kString, "",
       "creates the first admin at start when there are no users (C19AI_ADMIN_PASSWORD)", true,
       {"C19AI_ADMIN_PASSWORD"}},
      {"realtime.auth_timeout", Kind::kDuration, "5s", "time a WebSocket client has to authenticate", false, {},
       100, 600'000},
      {"realtime.max_connections_per_user", Kind::kInt, "64", "WebSocket connections one user may hold", false, {},
       1, 100000},
      {"realtime.history_per_room", Kind::kInt, "256", "events kept per room for reconnecting clients", false, {},
       0, 100000},
      {"realtime.max_message_bytes", Kind::kBytes, "64KiB", "largest message a WebSocket client may send", false,
       {}, 256, 64 << 20},
      {"realtime.max_queued_bytes", Kind::kBytes, "1MiB",
       "unsent bytes per WebSocket client before it is disconnected as too slow", false, {}, 4096, 1 << 30},
      {"log.level", Kind::kString, "info", "debug | info | warn | error | off"},
      {"log.format", Kind::kString, "json", "json | text"},
      {"log.file", Kind::kString, "", "write logs to this file instead of stderr"},
  };
  return kKeys;
}

std::string EnvName(const std::string& key) {
  std::string out = "C19AI_";
  for (char c : key) out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

std::string Describe(const KeyDef& def) {
  switch (def.kind) {
    case Kind::kInt: return "an integer between " + std::to_string(def.min) + " and " + std::to_string(def.max);
    case Kind::kBool: return "true or false";
    case Kind::kBytes: return "a size such as 512KiB or 16MiB";
    case Kind::kDuration: return "a duration such as 500ms, 30s or 5m";
    case Kind::kList: return "a comma-separated list";
    case Kind::kString: return "a string";
  }
  return "a value";
}

Status CheckValue(const KeyDef& def, const std::string& value, const std::string& source) {
  auto bad = [&](const std::string& why) {
    return Error::Field(def.key, "configuration key \"" + std::string(def.key) + "\" (from " + source + ") must be " +
                                     why + ", got \"" + (def.secret ? std::string("****") : value) + "\"");
  };
  int64_t n = 0;
  switch (def.kind) {
    case Kind::kInt: {
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno) return bad(Describe(def));
      n = v;
      break;
    }
    case Kind::kBool: {
      std::string v = ToLower(value);
      if (v != "true" && v != "false" && v != "1" && v != "0" && v != "yes" && v != "no" && v != "on" &&
          v != "off") {
        return bad(Describe(def));
      }
      return OkStatus();
    }
    case Kind::kBytes:
      if (!ParseByteSize(value, n)) return bad(Describe(def));
      break;
    case Kind::kDuration:
      if (!ParseDurationMs(value, n)) return bad(Describe(def));
      break;
    case Kind::kString:
    case Kind::kList: return OkStatus();
  }
  if (n < def.min || n > def.max) return bad(Describe(def));
  return OkStatus();
}

// Flattens a TOML table into dotted keys.
Status Flatten(const toml::table& table, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = node.as_table()) {
      C19_TRY(Flatten(*sub, key, out));
    } else if (const auto* arr = node.as_array()) {
      std::vector<std::string> items;
      for (const auto& item : *arr) {
        if (auto s = item.value<std::string>()) items.push_back(*s);
        else return Error::Field(key, "configuration key \"" + key + "\" must be a list of strings");
      }
      out[key] = Join(items, ",");
    } else if (auto s = node.value<std::string>()) {
      out[key] = *s;
    } else if (auto b = node.value<bool>(); b && node.is_boolean()) {
      out[key] = *b ? "true" : "false";
    } else if (auto i = node.value<int64_t>(); i && node.is_integer()) {
      out[key] = std::to_string(*i);
    } else if (auto d = node.value<double>()) {
      out[key] = std::to_string(*d);
    } else {
      return Error::Field(key, "configuration key \"" + key + "\" has an unsupported value type");
    }
  }
  return OkStatus();
}

bool ToBool(const std::string& v) {
  std::string l = ToLower(v);
  return l == "true" || l == "1" || l == "yes" || l == "on";
}

}  // namespace

std::vector<Config::Entry> Config::Describe(bool mask_secrets) const {
  std::vector<Entry> out = entries;
  if (mask_secrets) {
    for (auto& e : out) {
      if (e.secret && !e.value.empty()) {
        // URLs keep their scheme and host so the operator can tell which backend is used.
        auto at = e.value.find('@');
        auto scheme = e.value.find("://");
        if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
          e.value = e.value.substr(0, scheme + 3) + "****" + e.value.substr(at);
        } else if (scheme != std::string::npos && e.key.ends_with(".url")) {
          // no credentials inside
        } else {
          e.value = "****";
        }
      }
    }
  }
  return out;
}

Result<Config> LoadConfig(const ConfigSources& sources) {
  const auto& keys = Keys();
  std::map<std::string, const KeyDef*> by_key;
  std::map<std::string, const KeyDef*> by_env;
  for (const auto& def : keys) {
    by_key[def.key] = &def;
    by_env[EnvName(def.key)] = &def;
    for (const char* alias : def.env_aliases) by_env[alias] = &def;
  }

  struct Value {
    std::string value, source;
  };
  std::map<std::string, Value> values;
  for (const auto& def : keys) values[def.key] = {def.default_value, "default"};

  Config config;
  const char* const* env = sources.environ ? sources.environ : environ;
  std::map<std::string, std::string> env_map;
  for (const char* const* e = env; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env_map[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }

  // Config file.
  std::string file = sources.file;
  if (file.empty() && env_map.contains("C19AI_CONFIG")) file = env_map["C19AI_CONFIG"];
  if (!file.empty()) {
    std::map<std::string, std::string> flat;
    try {
      toml::table table = toml::parse_file(file);
      C19_TRY(Flatten(table, "", flat));
    } catch (const toml::parse_error& e) {
      return Error::InvalidArgument("configuration file \"" + file + "\" is not valid TOML: " +
                                    std::string(e.description()) + " at line " +
                                    std::to_string(e.source().begin.line));
    }
    for (auto& [k, v] : flat) {
      if (!by_key.contains(k)) {
        return Error::Field(k, "unknown configuration key \"" + k + "\" in " + file);
      }
      values[k] = {v, "file " + file};
    }
  }

  // Environment: canonical names first, then aliases only where the canonical name is absent.
  std::set<std::string> known_other = {"C19AI_CONFIG"};
  for (const auto& [name, value] : env_map) {
    if (!name.starts_with("C19AI_")) continue;
    auto it = by_env.find(name);
    if (it == by_env.end()) {
      if (!known_other.contains(name) && !name.starts_with("C19AI_TEST_")) {
        config.warnings.push_back("unknown environment variable " + name + " is ignored");
      }
      continue;
    }
    const KeyDef* def = it->second;
    bool canonical = EnvName(def->key) == name;
    if (!canonical && env_map.contains(EnvName(def->key))) continue;
    values[def->key] = {value, "env " + name};
  }

  // Flags.
  for (const auto& [k, v] : sources.flags) {
    if (!by_key.contains(k)) return Error::Field(k, "unknown configuration key \"" + k + "\" given by a flag");
    values[k] = {v, "flag"};
  }

  // Validate and substitute {data_dir}.
  const std::string data_dir = values["data_dir"].value;
  for (auto& [k, v] : values) {
    auto pos = v.value.find("{data_dir}");
    if (pos != std::string::npos) v.value.replace(pos, 10, data_dir);
    C19_TRY(CheckValue(*by_key[k], v.value, v.source));
  }

  auto str = [&](const char* k) { return values[k].value; };
  auto num = [&](const char* k) -> int64_t {
    const KeyDef* def = by_key[k];
    int64_t n = 0;
    if (def->kind == Kind::kBytes) ParseByteSize(values[k].value, n);
    else if (def->kind == Kind::kDuration) ParseDurationMs(values[k].value, n);
    else n = std::strtoll(values[k].value.c_str(), nullptr, 10);
    return n;
  };
  auto list = [&](const char* k) {
    std::vector<std::string> out;
    for (auto& s : Split(values[k].value, ',', true)) {
      auto t = Trim(s);
      if (!t.empty()) out.emplace_back(t);
    }
    return out;
  };

  config.data_dir = data_dir;
  config.server.host = str("server.host");
  config.server.port = static_cast<int>(num("server.port"));
  config.server.io_threads = static_cast<int>(num("server.io_threads"));
  config.server.worker_threads = static_cast<int>(num("server.worker_threads"));
  config.server.worker_queue = static_cast<int>(num("server.worker_queue"));
  config.server.max_connections = static_cast<int>(num("server.max_connections"));
  config.server.max_header_bytes = num("server.max_header_bytes");
  config.server.max_body_bytes = num("server.max_body_bytes");
  config.server.header_timeout_ms = num("server.header_timeout");
  config.server.body_timeout_ms = num("server.body_timeout");
  config.server.write_timeout_ms = num("server.write_timeout");
  config.server.shutdown_timeout_ms = num("server.shutdown_timeout");
  config.server.tls_cert = str("server.tls_cert");
  config.server.tls_key = str("server.tls_key");
  config.server.cors_origins = list("server.cors_origins");
  config.server.static_dir = str("server.static_dir");
  config.server.access_log = ToBool(str("server.access_log"));
  config.database.url = str("database.url");
  config.database.pool_size = static_cast<int>(num("database.pool_size"));
  config.database.busy_timeout_ms = num("database.busy_timeout");
  config.database.acquire_timeout_ms = num("database.acquire_timeout");
  config.cache_url = str("cache.url");
  config.cache_memory_bytes = num("cache.memory_bytes");
  config.cache_l1_ttl_ms = num("cache.l1_ttl");
  config.cache_redis_pool = static_cast<int>(num("cache.redis_pool"));
  config.cache_redis_timeout_ms = num("cache.redis_timeout");
  config.storage_url = str("storage.url");
  config.storage.backends = list("storage.backends");
  config.storage.primary = str("storage.primary");
  config.storage.encrypt = list("storage.encrypt");
  config.storage.encryption_keys = str("storage.encryption_keys");
  config.storage.verify_on_read = ToBool(str("storage.verify_on_read"));
  config.storage.cleaner_interval_ms = num("storage.cleaner_interval");
  config.storage.max_file_size = num("storage.max_file_size");
  config.storage.s3_access_key = str("storage.s3_access_key");
  config.storage.s3_secret_key = str("storage.s3_secret_key");
  config.registry.max_artifact_size = num("registry.max_artifact_size");
  config.ml.intra_op_threads = static_cast<int>(num("ml.intra_op_threads"));
  config.inference.max_batch_size = static_cast<int>(num("inference.max_batch_size"));
  config.inference.max_queue_delay_us = num("inference.max_queue_delay_us");
  config.inference.max_queue_size = static_cast<int>(num("inference.max_queue_size"));
  config.inference.instances = static_cast<int>(num("inference.instances"));
  config.inference.memory_budget = num("inference.memory_budget");
  config.inference.timeout_ms = num("inference.timeout");
  config.inference.resolve_interval_ms = num("inference.resolve_interval");
  config.inference.max_request_size = num("inference.max_request_size");
  config.workers.embedded = ToBool(str("workers.embedded"));
  config.workers.batch_predictions = static_cast<int>(num("workers.batch_predictions"));
  config.workers.training = static_cast<int>(num("workers.training"));
  config.workers.training_threads = static_cast<int>(num("workers.training_threads"));
  config.workers.validations = static_cast<int>(num("workers.validations"));
  config.validation.max_upload_size = num("validation.max_upload_size");
  config.validation.inline_max_size = num("validation.inline_max_size");
  config.validation.max_examples = static_cast<int>(num("validation.max_examples"));
  config.validation.max_issues = static_cast<int>(num("validation.max_issues"));
  config.queue_url = str("queue.url");
  config.events_url = str("events.url");
  config.auth.allow_registration = ToBool(str("auth.allow_registration"));
  config.auth.jwt_secret = str("auth.jwt_secret");
  config.auth.access_token_ttl_ms = num("auth.access_token_ttl");
  config.auth.refresh_token_ttl_ms = num("auth.refresh_token_ttl");
  config.auth.revocation_delay_ms = num("auth.revocation_delay");
  config.auth.password_min_length = static_cast<int>(num("auth.password_min_length"));
  config.auth.password_reject_common = ToBool(str("auth.password_reject_common"));
  config.auth.argon2_memory_bytes = num("auth.argon2_memory");
  config.auth.argon2_iterations = static_cast<int>(num("auth.argon2_iterations"));
  config.auth.login_max_failures = static_cast<int>(num("auth.login_max_failures"));
  config.auth.lockout_base_ms = num("auth.lockout_base");
  config.auth.lockout_max_ms = num("auth.lockout_max");
  config.auth.admin_user = str("auth.admin_user");
  config.auth.admin_password = str("auth.admin_password");
  config.realtime.auth_timeout_ms = num("realtime.auth_timeout");
  config.realtime.max_connections_per_user = static_cast<int>(num("realtime.max_connections_per_user"));
  config.realtime.history_per_room = static_cast<int>(num("realtime.history_per_room"));
  config.realtime.max_message_bytes = num("realtime.max_message_bytes");
  config.realtime.max_queued_bytes = num("realtime.max_queued_bytes");
  config.log.level = str("log.level");
  config.log.format = str("log.format");
  config.log.file = str("log.file");

  if (config.server.tls_cert.empty() != config.server.tls_key.empty()) {
    return Error::Field(config.server.tls_cert.empty() ? "server.tls_cert" : "server.tls_key",
                        "configuration keys \"server.tls_cert\" and \"server.tls_key\" must be set together");
  }
  if (config.log.format != "json" && config.log.format != "text") {
    return Error::Field("log.format", "configuration key \"log.format\" must be json or text, got \"" +
                                          config.log.format + "\"");
  }
  static const std::set<std::string> kLevels = {"debug", "trace", "info", "warn", "warning", "error", "off", "none"};
  if (!kLevels.contains(ToLower(config.log.level))) {
    return Error::Field("log.level", "configuration key \"log.level\" must be one of debug, info, warn, error, off, "
                                     "got \"" + config.log.level + "\"");
  }
  for (const auto& def : keys) {
    config.entries.push_back({def.key, values[def.key].value, values[def.key].source, def.help, def.secret});
  }
  return config;
}

}  // namespace c19ai

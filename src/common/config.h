#pragma once
// The effective configuration: defaults < config file (TOML) < C19AI_* environment < command-line
// flags. Every key is declared once in config.cpp (type, default, bounds, secrecy, help); invalid
// values and unknown keys in the file fail loading with a message naming the key and its source.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace c19ai {

struct ServerConfig {
  std::string host;
  int port = 8080;
  int io_threads = 0;            // 0: one per core
  int worker_threads = 8;        // the blocking pool
  int worker_queue = 1024;       // requests waiting for the pool before 503
  int max_connections = 20000;
  int64_t max_header_bytes = 0;
  int64_t max_body_bytes = 0;    // default limit for buffered JSON bodies
  int64_t header_timeout_ms = 0;
  int64_t body_timeout_ms = 0;
  int64_t write_timeout_ms = 0;
  int64_t shutdown_timeout_ms = 0;
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> cors_origins;
  std::string static_dir;
  bool access_log = true;
};

struct DatabaseConfig {
  std::string url;
  int pool_size = 8;
  int64_t busy_timeout_ms = 0;
  int64_t acquire_timeout_ms = 0;
};

struct AuthConfig {
  bool allow_registration = true;
  std::string jwt_secret;
  int64_t access_token_ttl_ms = 0;
  int64_t refresh_token_ttl_ms = 0;
  int64_t revocation_delay_ms = 0;
  int password_min_length = 12;
  bool password_reject_common = true;
  int64_t argon2_memory_bytes = 0;
  int argon2_iterations = 3;
  int login_max_failures = 5;
  int64_t lockout_base_ms = 0;
  int64_t lockout_max_ms = 0;
  std::string admin_user;
  std::string admin_password;
};

struct StorageConfig {
  std::vector<std::string> backends;  // "name=url"; empty: one backend from storage.url
  std::string primary;
  std::vector<std::string> encrypt;   // backend names stored encrypted
  std::string encryption_keys;        // "id:base64[,id:base64...]", first active
  bool verify_on_read = false;
  int64_t cleaner_interval_ms = 0;
  int64_t max_file_size = 0;
  std::string s3_access_key, s3_secret_key;
};

struct RegistryConfig {
  int64_t max_artifact_size = 0;
};

struct InferenceConfig {
  int max_batch_size = 32;
  int64_t max_queue_delay_us = 0;
  int max_queue_size = 1024;
  int instances = 1;
  int64_t memory_budget = 0;
  int64_t timeout_ms = 0;
  int64_t resolve_interval_ms = 0;
  int64_t max_request_size = 0;
};

struct WorkersConfig {
  bool embedded = true;      // job handlers run in the server process
  int batch_predictions = 1;  // concurrent batch prediction jobs
  int training = 1;           // concurrent training jobs
  int training_threads = 2;   // threads one training job may use
  int validations = 1;        // concurrent dataset validation jobs
};

struct ValidationConfig {
  int64_t max_upload_size = 0;  // largest dataset upload
  int64_t inline_max_size = 0;  // larger datasets validate as queue jobs
  int max_examples = 20;        // failures reported per rule
  int max_issues = 1000;        // failures reported per validation
};

struct MlConfig {
  int intra_op_threads = 1;
};

struct RealtimeConfig {
  int64_t auth_timeout_ms = 0;
  int max_connections_per_user = 64;
  int history_per_room = 256;
  int64_t max_message_bytes = 0;
  int64_t max_queued_bytes = 0;
};

struct LogConfig {
  std::string level;
  std::string format;
  std::string file;
};

struct Config {
  std::string data_dir;
  ServerConfig server;
  DatabaseConfig database;
  std::string cache_url;
  int64_t cache_memory_bytes = 0;
  int64_t cache_l1_ttl_ms = 0;
  int cache_redis_pool = 8;
  int64_t cache_redis_timeout_ms = 0;
  std::string storage_url;
  StorageConfig storage;
  RegistryConfig registry;
  ValidationConfig validation;
  MlConfig ml;
  InferenceConfig inference;
  WorkersConfig workers;
  std::string queue_url;
  std::string events_url;
  AuthConfig auth;
  RealtimeConfig realtime;
  LogConfig log;

  // Every key with its effective value and where it came from ("default", "file", "env C19AI_X",
  // "flag"), in key order. Secrets are masked when mask_secrets.
  struct Entry {
    std::string key, value, source, help;
    bool secret = false;
  };
  std::vector<Entry> entries;
  std::vector<std::string> warnings;  // e.g. unknown C19AI_* variables

  std::vector<Entry> Describe(bool mask_secrets) const;
};

struct ConfigSources {
  std::string file;                         // empty: C19AI_CONFIG, else none
  std::map<std::string, std::string> flags; // key -> value, from the command line
  const char* const* environ = nullptr;     // nullptr: the process environment
};

// invalid_argument naming the key (and its source) for any bad value.
Result<Config> LoadConfig(const ConfigSources& sources);

}  // namespace c19ai

// Picks the storage backends from the configuration.

#include <cstdlib>
#include <filesystem>

#include "app/internal.h"
#include "common/log.h"
#include "common/text.h"

namespace c19ai::app {

namespace {

Result<std::unique_ptr<storage::BlobStore>> OpenBackend(const Config& config, const std::string& url) {
  if (url.starts_with("file://")) {
    std::string root = url.substr(7);
    if (root.empty()) return Error::Field("storage.url", "a file:// storage URL needs a folder");
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec) return Error::Field("storage.url", "cannot create storage folder " + root + ": " + ec.message());
    return storage::NewLocalBlobStore(root);
  }
  if (url.starts_with("s3://")) {
    std::string access = config.storage.s3_access_key, secret = config.storage.s3_secret_key;
    if (access.empty() && std::getenv("AWS_ACCESS_KEY_ID")) access = std::getenv("AWS_ACCESS_KEY_ID");
    if (secret.empty() && std::getenv("AWS_SECRET_ACCESS_KEY")) secret = std::getenv("AWS_SECRET_ACCESS_KEY");
    C19_ASSIGN_OR_RETURN(storage::S3Options o, storage::ParseS3Url(url, access, secret));
    return storage::NewS3BlobStore(o);
  }
  return Error::Field("storage.url", "storage URLs start with file:// or s3://, got \"" + url.substr(0, 12) + "...\"");
}

}  // namespace

Result<std::unique_ptr<storage::StorageService>> BuildStorage(const Config& config, db::Database& db) {
  std::vector<std::pair<std::string, std::string>> named;
  if (config.storage.backends.empty()) {
    named.emplace_back(config.storage_url.starts_with("s3://") ? "s3" : "local", config.storage_url);
  } else {
    for (const auto& entry : config.storage.backends) {
      auto eq = entry.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Error::Field("storage.backends", "storage.backends entries are name=url");
      }
      named.emplace_back(std::string(Trim(entry.substr(0, eq))), std::string(Trim(entry.substr(eq + 1))));
    }
  }
  std::optional<storage::Keyring> keyring;
  if (!config.storage.encryption_keys.empty()) {
    C19_ASSIGN_OR_RETURN(keyring, storage::ParseKeyring(config.storage.encryption_keys));
  }
  storage::StorageOptions o;
  for (const auto& [name, url] : named) {
    C19_ASSIGN_OR_RETURN(auto backend, OpenBackend(config, url));
    bool encrypt = std::find(config.storage.encrypt.begin(), config.storage.encrypt.end(), name) !=
                   config.storage.encrypt.end();
    if (encrypt) {
      if (!keyring) {
        return Error::Field("storage.encryption_keys", "storage.encrypt names \"" + name +
                                                           "\" but storage.encryption_keys is empty");
      }
      backend = storage::NewEncryptedBlobStore(std::move(backend), *keyring);
    }
    log::Info("storage backend", {{"name", name}, {"kind", backend->kind()}});
    o.backends[name] = std::move(backend);
  }
  for (const auto& e : config.storage.encrypt) {
    if (!o.backends.contains(e)) return Error::Field("storage.encrypt", "no storage backend named \"" + e + "\"");
  }
  o.primary = config.storage.primary.empty() ? named.front().first : config.storage.primary;
  o.verify_on_read = config.storage.verify_on_read;
  o.cleaner_interval_ms = config.storage.cleaner_interval_ms;
  return storage::StorageService::Create(db, std::move(o));
}

}  // namespace c19ai::app

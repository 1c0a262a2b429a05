#include "db/backends.h"

namespace c19ai::db {

Result<std::unique_ptr<Database>> Open(const Options& options) {
  std::string_view url = options.url;
  if (url.starts_with("sqlite://")) {
    std::string path(url.substr(9));
    if (path.empty()) return Error::Field("database.url", "database URL \"sqlite://\" needs a path");
    return OpenSqlite(path, options);
  }
  if (url.starts_with("sqlite:")) return OpenSqlite(std::string(url.substr(7)), options);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return OpenPostgres(options.url, options);
  return Error::Field("database.url", "database URL must start with sqlite:// or postgresql://, got \"" +
                                          std::string(url.substr(0, url.find("://") + 3)) + "...\"");
}

}  // namespace c19ai::db

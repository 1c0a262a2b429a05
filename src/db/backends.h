#pragma once
// Backend constructors behind db::Open (internal to the db module).

#include <memory>
#include <string>

#include "db/db.h"

namespace c19ai::db {

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path, const Options& options);
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url, const Options& options);

}  // namespace c19ai::db

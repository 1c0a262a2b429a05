#pragma once
// Pieces shared between the http module's translation units (not part of its public contract).

#include <string>

#include "http/http.h"

namespace c19ai::http {

// Serves a file of the web console from `root`: "/" and paths without an extension fall back to
// index.html (client-side routing); "..", NUL and other escapes are refused; hashed assets under
// /assets/ are cacheable for a year, everything else must be revalidated.
Result<Response> ServeStaticFile(const std::string& root, const Request& request);

}  // namespace c19ai::http

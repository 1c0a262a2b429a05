#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/text.h"
#include "http/internal.h"

namespace c19ai::http {

namespace {
std::string_view ContentType(std::string_view ext) {
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".woff") return "font/woff";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}
}  // namespace

Result<Response> ServeStaticFile(const std::string& root, const Request& request) {
  std::string path;
  if (!PercentDecode(request.path, path)) return Error::InvalidArgument("malformed percent-escape in the path");
  if (path.find('\0') != std::string::npos || path.find("..") != std::string::npos || path.find('\\') !=
                                                                                           std::string::npos) {
    return Error::NotFound("no such file");
  }
  namespace fs = std::filesystem;
  fs::path base(root);
  std::string rel = path.substr(1);
  if (rel.empty()) rel = "index.html";
  fs::path file = base / rel;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    // Client-side routes (no extension) get the console's entry page.
    if (fs::path(rel).has_extension()) return Error::NotFound("no such file: " + path.substr(0, 200));
    file = base / "index.html";
    if (!fs::is_regular_file(file, ec)) return Error::NotFound("the web console is not built (no index.html)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Error::NotFound("cannot read " + path.substr(0, 200));
  std::ostringstream ss;
  ss << in.rdbuf();
  Response r;
  r.status = 200;
  r.is_static = true;
  r.content_type = std::string(ContentType(file.extension().string()));
  r.body = ss.str();
  bool immutable = rel.starts_with("assets/");
  r.headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  return r;
}

}  // namespace c19ai::http

#include <array>
#include <map>

#include "common/text.h"
#include "http/http.h"

namespace c19ai::http {

// A trie over path segments. Priority when several patterns match: literal segment, then
// {param}:action, then {param}, then {rest...}:action, then {rest...}.
struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
  struct Suffixed {
    std::string action;  // ":copy"
    std::string name;
    std::unique_ptr<Node> child;
  };
  std::vector<Suffixed> suffixed;
  std::string param_name;
  std::unique_ptr<Node> param;
  struct Greedy {
    std::string action;  // "" or ":copy"
    std::string name;
    std::array<const Route*, kMethodCount> handlers{};
  };
  std::vector<Greedy> greedy;
  std::array<const Route*, kMethodCount> handlers{};
};

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

const std::vector<std::unique_ptr<Route>>& Router::routes() const { return routes_; }

namespace {

bool ValidName(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

Status Router::Add(Route route) {
  auto fail = [&](const std::string& why) {
    return Error::InvalidArgument("route " + std::string(MethodName(route.method)) + " " + route.path + ": " + why);
  };
  if (route.permission.empty()) return fail("declares no permission (use http::kPublic for public routes)");
  if (route.summary.empty()) return fail("has no OpenAPI summary");
  bool has_handler = route.exec == Exec::kAsync ? static_cast<bool>(route.async_handler)
                                                : static_cast<bool>(route.handler);
  if (route.websocket) has_handler = true;
  if (!has_handler) return fail("has no handler for its execution mode");
  if (route.method == Method::kOther) return fail("has no method");
  if (route.path.empty() || route.path[0] != '/') return fail("path must start with /");

  auto segs = Segments(route.path);
  Node* node = root_.get();
  std::array<const Route*, kMethodCount>* slot = nullptr;
  for (size_t i = 0; i < segs.size(); ++i) {
    std::string_view seg = segs[i];
    if (seg.empty() && i + 1 != segs.size()) return fail("has an empty segment");
    if (!seg.empty() && seg.front() == '{') {
      size_t close = seg.find('}');
      if (close == std::string_view::npos) return fail("has an unclosed {");
      std::string_view inner = seg.substr(1, close - 1);
      std::string_view action = seg.substr(close + 1);
      if (!action.empty() && (action[0] != ':' || action.size() < 2)) return fail("has junk after a parameter");
      bool greedy = inner.ends_with("...");
      if (greedy) inner.remove_suffix(3);
      if (!ValidName(inner)) return fail("has an invalid parameter name");
      if (greedy) {
        if (i + 1 != segs.size()) return fail("{name...} must be the last segment");
        auto it = std::find_if(node->greedy.begin(), node->greedy.end(),
                               [&](const Node::Greedy& g) { return g.action == action; });
        if (it == node->greedy.end()) {
          node->greedy.push_back(Node::Greedy{std::string(action), std::string(inner), {}});
          it = node->greedy.end() - 1;
        } else if (it->name != inner) {
          return fail("conflicts with a parameter of another name at the same place");
        }
        slot = &it->handlers;
        break;
      }
      if (action.empty()) {
        if (!node->param) {
          node->param = std::make_unique<Node>();
          node->param_name = inner;
        } else if (node->param_name != inner) {
          return fail("conflicts with parameter {" + node->param_name + "} at the same place");
        }
        node = node->param.get();
      } else {
        auto it = std::find_if(node->suffixed.begin(), node->suffixed.end(),
                               [&](const Node::Suffixed& s) { return s.action == action; });
        if (it == node->suffixed.end()) {
          node->suffixed.push_back(Node::Suffixed{std::string(action), std::string(inner), std::make_unique<Node>()});
          it = node->suffixed.end() - 1;
        } else if (it->name != inner) {
          return fail("conflicts with a parameter of another name at the same place");
        }
        node = it->child.get();
      }
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) return fail("has a brace inside a literal segment");
      auto it = node->literals.find(seg);
      if (it == node->literals.end()) it = node->literals.emplace(std::string(seg), std::make_unique<Node>()).first;
      node = it->second.get();
    }
  }
  if (!slot) slot = &node->handlers;
  auto& h = (*slot)[static_cast<size_t>(route.method)];
  if (h) return fail("is registered twice");
  route.id = static_cast<int>(routes_.size());
  routes_.push_back(std::make_unique<Route>(std::move(route)));
  h = routes_.back().get();
  return OkStatus();
}

namespace {

using Handlers = std::array<const Route*, kMethodCount>;
struct Candidate {
  const Handlers* handlers;
  std::vector<std::pair<std::string, std::string>> params;
};

bool AnyHandler(const Handlers& h) {
  for (auto* r : h) {
    if (r) return true;
  }
  return false;
}

}  // namespace

Router::Match Router::Find(Method method, std::string_view path) const {
  Match match;
  auto segs = Segments(path);
  if (segs.empty()) return match;
  // Depth-first search collecting full matches in priority order.
  std::vector<Candidate> found;
  std::vector<std::pair<std::string, std::string>> params;
  std::function<void(const Node*, size_t)> walk = [&](const Node* node, size_t i) {
    if (i == segs.size()) {
      if (AnyHandler(node->handlers)) found.push_back({&node->handlers, params});
      return;
    }
    std::string_view seg = segs[i];
    if (auto it = node->literals.find(seg); it != node->literals.end()) walk(it->second.get(), i + 1);
    for (const auto& s : node->suffixed) {
      if (seg.size() > s.action.size() && seg.ends_with(s.action)) {
        params.emplace_back(s.name, std::string(seg.substr(0, seg.size() - s.action.size())));
        walk(s.child.get(), i + 1);
        params.pop_back();
      }
    }
    if (node->param && !seg.empty()) {
      params.emplace_back(node->param_name, std::string(seg));
      walk(node->param.get(), i + 1);
      params.pop_back();
    }
    if (!node->greedy.empty()) {
      // The rest of the path, from segment i on.
      size_t offset = static_cast<size_t>(segs[i].data() - path.data());
      std::string_view rest = path.substr(offset);
      for (int pass = 0; pass < 2; ++pass) {  // actions first, then the plain greedy parameter
        for (const auto& g : node->greedy) {
          if ((pass == 0) == g.action.empty()) continue;
          if (!g.action.empty()) {
            if (rest.size() <= g.action.size() || !rest.ends_with(g.action)) continue;
            params.emplace_back(g.name, std::string(rest.substr(0, rest.size() - g.action.size())));
          } else {
            if (rest.empty()) continue;
            params.emplace_back(g.name, std::string(rest));
          }
          if (AnyHandler(g.handlers)) found.push_back({&g.handlers, params});
          params.pop_back();
        }
      }
    }
  };
  walk(root_.get(), 0);
  if (found.empty()) return match;
  const size_t m = static_cast<size_t>(method);
  for (auto& c : found) {
    const Route* r = (*c.handlers)[m];
    if (!r && method == Method::kHead) r = (*c.handlers)[static_cast<size_t>(Method::kGet)];
    if (r) {
      match.route = r;
      match.params = std::move(c.params);
      return match;
    }
  }
  for (size_t i = 0; i < kMethodCount; ++i) {
    if ((*found[0].handlers)[i]) match.allowed.push_back(static_cast<Method>(i));
  }
  if ((*found[0].handlers)[static_cast<size_t>(Method::kGet)] &&
      !(*found[0].handlers)[static_cast<size_t>(Method::kHead)]) {
    match.allowed.push_back(Method::kHead);
  }
  return match;
}

}  // namespace c19ai::http

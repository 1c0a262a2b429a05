#include "cache/routes.h"

#include "common/json.h"

namespace c19ai::cache {

Status RegisterRoutes(http::Router& router, Cache& cache) {
  Cache* c = &cache;
  http::Route stats;
  stats.method = http::Method::kGet;
  stats.path = "/api/v1/cache/stats";
  stats.permission = "cache:admin";
  stats.summary = "Cache statistics per namespace (hits, misses, evictions, bytes, hit ratio)";
  stats.tag = "cache";
  stats.exec = http::Exec::kInline;  // counters only: no I/O
  stats.handler = [c](http::Request&) -> Result<http::Response> {
    Stats st = c->GetStats();
    Json namespaces = Json::array();
    for (const auto& n : st.namespaces) {
      namespaces.push_back({{"name", n.name},
                            {"hits", n.hits},
                            {"misses", n.misses},
                            {"sets", n.sets},
                            {"evictions", n.evictions},
                            {"expirations", n.expirations},
                            {"entries", n.entries},
                            {"bytes", n.bytes},
                            {"hit_ratio", n.hit_ratio()}});
    }
    return http::Response::Json(200, DumpJson(Json{{"backend", st.backend},
                                                   {"capacity_bytes", st.capacity_bytes},
                                                   {"bytes", st.bytes},
                                                   {"entries", st.entries},
                                                   {"namespaces", namespaces}}));
  };
  C19_TRY(router.Add(std::move(stats)));

  http::Route flush;
  flush.method = http::Method::kDelete;
  flush.path = "/api/v1/cache/{namespace}";
  flush.permission = "cache:admin";
  flush.summary = "Drop every entry of a cache namespace (on this replica's memory and in Redis)";
  flush.tag = "cache";
  flush.audit = "cache.flush";
  flush.exec = http::Exec::kBlocking;
  flush.handler = [c](http::Request& req) -> Result<http::Response> {
    std::string ns(req.Param("namespace"));
    if (ns.empty() || ns.size() > 128) return Error::Field("namespace", "namespace must be 1-128 characters");
    req.audit_resource = "cache:" + ns;
    int64_t n = c->DeleteNamespace(ns);
    return http::Response::Json(200, DumpJson(Json{{"namespace", ns}, {"deleted", n}}));
  };
  return router.Add(std::move(flush));
}

}  // namespace c19ai::cache

#include "queue/routes.h"

#include "common/clock.h"
#include "common/json.h"
#include "common/paging.h"

namespace c19ai::queue {

namespace {

using http::Method;
using http::Request;
using http::Response;

Json ToJson(const Message& m) {
  return {{"id", m.id},
          {"topic", m.topic},
          {"priority", PriorityName(m.priority)},
          {"attempts", m.attempts},
          {"max_attempts", m.max_attempts},
          {"enqueued_at", FormatRfc3339(m.enqueued_ms)},
          {"headers", m.headers},
          {"body", m.body},
          {"last_error", m.last_error}};
}

http::Route MakeRoute(Method m, const char* path, const char* summary, const char* audit, http::Handler h) {
  http::Route r;
  r.method = m;
  r.path = path;
  r.permission = "queues:admin";
  r.summary = summary;
  r.tag = "queues";
  r.audit = audit;
  r.exec = http::Exec::kBlocking;
  r.max_body = 1 << 20;
  r.handler = std::move(h);
  return r;
}

}  // namespace

Status RegisterRoutes(http::Router& router, Queue& queue) {
  Queue* q = &queue;
  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/queues",
                               "Topics with their depth, delayed, in-flight and dead-letter counts", "",
                               [q](Request&) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto stats, q->Stats());
                                 Json items = Json::array();
                                 for (const auto& t : stats) {
                                   items.push_back({{"topic", t.topic},
                                                    {"ready", t.ready},
                                                    {"delayed", t.delayed},
                                                    {"in_flight", t.in_flight},
                                                    {"dead_letters", t.dead},
                                                    {"oldest_ready_age_seconds", t.oldest_ready_age_ms / 1000.0}});
                                 }
                                 return Response::Json(200, DumpJson(Json{{"backend", q->backend()},
                                                                          {"items", items}}));
                               })));

  C19_TRY(router.Add(MakeRoute(
      Method::kPost, "/api/v1/queues/{topic}/messages",
      "Publish a message (body, priority, delay_ms, headers, idempotency_key, max_attempts)", "queue.publish",
      [q](Request& req) -> Result<Response> {
        C19_ASSIGN_OR_RETURN(Json j, ParseJsonObject(req.body));
        FieldReader f(j);
        const Json* body = f.OptValue("body");
        if (!body) f.Fail("body", "field \"body\" is required");
        PublishOptions o;
        if (auto p = f.OptString("priority")) {
          auto parsed = ParsePriority(*p);
          if (!parsed) f.Fail("priority", "field \"priority\" must be high, normal or low");
          else o.priority = *parsed;
        }
        o.delay_ms = f.OptInt("delay_ms", 0, 365LL * 86'400'000).value_or(0);
        o.idempotency_key = f.OptString("idempotency_key").value_or("");
        o.max_attempts = static_cast<int>(f.OptInt("max_attempts", 1, 1000).value_or(5));
        if (const Json* h = f.OptObject("headers")) {
          for (auto& [k, v] : h->items()) {
            if (!v.is_string()) {
              f.Fail("headers", "header values must be strings");
              break;
            }
            o.headers[k] = v.get<std::string>();
          }
        }
        C19_TRY(f.Finish());
        std::string topic(req.Param("topic"));
        req.audit_resource = "topic:" + topic;
        C19_ASSIGN_OR_RETURN(std::string id, q->Publish(topic, body->is_string() ? body->get<std::string>()
                                                                                 : DumpJson(*body),
                                                        o));
        return Response::Json(201, DumpJson(Json{{"id", id}, {"topic", topic}}));
      })));

  C19_TRY(router.Add(MakeRoute(Method::kGet, "/api/v1/queues/{topic}/dead-letters",
                               "Dead letters of a topic, oldest first (limit, page_token)", "",
                               [q](Request& req) -> Result<Response> {
                                 C19_ASSIGN_OR_RETURN(auto limit, req.QueryInt("limit", 1, kMaxPageSize));
                                 int64_t offset = 0;
                                 if (auto t = req.Query("page_token"); t && !t->empty()) {
                                   C19_ASSIGN_OR_RETURN(offset, DecodePageToken(*t));
                                 }
                                 int64_t n = limit.value_or(kDefaultPageSize);
                                 C19_ASSIGN_OR_RETURN(auto dead,
                                                      q->DeadLetters(std::string(req.Param("topic")), n, offset));
                                 Json items = Json::array();
                                 for (const auto& m : dead) items.push_back(ToJson(m));
                                 Json next = static_cast<int64_t>(dead.size()) == n
                                                 ? Json(EncodePageToken(offset + n))
                                                 : Json(nullptr);
                                 return Response::Json(200, DumpJson(Json{{"items", items}, {"next_page_token", next}}));
                               })));

  C19_TRY(router.Add(MakeRoute(Method::kPost, "/api/v1/queues/{topic}/dead-letters:redrive",
                               "Move dead letters (all, or the given ids) back to their topic", "queue.redrive",
                               [q](Request& req) -> Result<Response> {
                                 std::vector<std::string> ids;
                                 if (!req.body.empty()) {
                                   C19_ASSIGN_OR_RETURN(Json j, ParseJsonObject(req.body));
                                   FieldReader f(j);
                                   ids = f.OptStringList("ids").value_or(std::vector<std::string>{});
                                   C19_TRY(f.Finish());
                                 }
                                 std::string topic(req.Param("topic"));
                                 req.audit_resource = "topic:" + topic;
                                 C19_ASSIGN_OR_RETURN(int64_t n, q->Redrive(topic, ids));
                                 return Response::Json(200, DumpJson(Json{{"topic", topic}, {"redriven", n}}));
                               })));
  return OkStatus();
}

}  // namespace c19ai::queue

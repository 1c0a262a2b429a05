// The queue on the database: one transaction per publish batch, consume batch and ack batch. On
// PostgreSQL consumers skip each other's rows with FOR UPDATE SKIP LOCKED; on SQLite the write lock
// (BEGIN IMMEDIATE) serialises consumers, and batching keeps that cheap.

#include <algorithm>
#include <cmath>
#include <random>

#include "common/ids.h"
#include "common/json.h"
#include "queue/internal.h"
#include "queue/queue.h"

namespace c19ai::queue {

namespace {

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

std::map<std::string, std::string> ParseHeaders(const std::string& text) {
  std::map<std::string, std::string> out;
  Json j = Json::parse(text, nullptr, false);
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

class DbQueue final : public Queue {
 public:
  DbQueue(db::Database& db, QueueOptions o) : db_(db), o_(o) {}

  std::string backend() const override { return "db"; }

  Result<std::string> Insert(db::Executor& tx, const std::string& topic, const std::string& body,
                             const PublishOptions& o, int64_t now) {
    if (!o.idempotency_key.empty()) {
      C19_ASSIGN_OR_RETURN(auto seen, tx.Query("SELECT message_id FROM queue_idempotency WHERE topic = ? AND "
                                               "idem_key = ? AND expires_at > ?",
                                               {topic, o.idempotency_key, now}));
      if (!seen.empty()) return seen[0].Text(0);
    }
    std::string id = NewIdAt(now);
    C19_TRY(tx.Exec("INSERT INTO queue_messages (id, topic, priority, available_at, enqueued_at, max_attempts, body, "
                    "headers, has_headers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    {id, topic, static_cast<int>(o.priority), now + std::max<int64_t>(0, o.delay_ms), now,
                     std::max(1, o.max_attempts), body, o.headers.empty() ? "{}" : DumpJson(Json(o.headers)),
                     !o.headers.empty()}));
    for (const auto& [k, v] : o.headers) {
      C19_TRY(tx.Exec("INSERT INTO queue_headers (message_id, name, value) VALUES (?, ?, ?)", {id, k, v}));
    }
    if (!o.idempotency_key.empty()) {
      C19_TRY(tx.Exec("INSERT INTO queue_idempotency (topic, idem_key, message_id, expires_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (topic, idem_key) DO UPDATE SET message_id = excluded.message_id, expires_at = "
                      "excluded.expires_at",
                      {topic, o.idempotency_key, id, now + o_.idempotency_window_ms}));
    }
    return id;
  }

  Result<std::string> Publish(const std::string& topic, const std::string& body, const PublishOptions& o) override {
    C19_TRY(ValidateTopic(topic));
    return db::InTransaction(db_, [&](db::Transaction& tx) { return Insert(tx, topic, body, o, o_.clock->NowMs()); });
  }

  Result<std::vector<std::string>> PublishBatch(
      const std::string& topic, const std::vector<std::pair<std::string, PublishOptions>>& messages) override {
    C19_TRY(ValidateTopic(topic));
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Result<std::vector<std::string>> {
      std::vector<std::string> ids;
      ids.reserve(messages.size());
      int64_t now = o_.clock->NowMs();
      for (const auto& [body, o] : messages) {
        C19_ASSIGN_OR_RETURN(std::string id, Insert(tx, topic, body, o, now));
        ids.push_back(std::move(id));
      }
      return ids;
    });
  }

  Result<std::vector<Message>> Consume(const std::string& topic, const ConsumeOptions& o) override {
    C19_TRY(ValidateTopic(topic));
    int limit = std::clamp(o.max_messages, 1, 1000);
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Result<std::vector<Message>> {
      int64_t now = o_.clock->NowMs();
      db::Select q("SELECT id, priority, enqueued_at, attempts, max_attempts, body, headers, has_headers, last_error "
                   "FROM queue_messages");
      q.Where("topic = ?", {topic}).Where("available_at <= ?", {now});
      for (const auto& [k, v] : o.header_filter) {
        q.Where("id IN (SELECT message_id FROM queue_headers WHERE name = ? AND value = ?)", {k, v});
      }
      q.OrderBy("priority, available_at").Limit(limit);
      std::string sql = q.sql();
      if (tx.dialect() == db::Dialect::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, q.params()));
      std::vector<Message> out;
      std::vector<std::string> dead;
      for (const auto& r : rows) {
        Message m;
        m.id = r.Text(0);
        m.topic = topic;
        m.priority = static_cast<Priority>(r.Int(1));
        m.enqueued_ms = r.Int(2);
        m.attempts = static_cast<int>(r.Int(3)) + 1;
        m.max_attempts = static_cast<int>(r.Int(4));
        m.last_error = r.Text(8);
        if (m.attempts > m.max_attempts) {  // its last lease ran out: it used every attempt
          dead.push_back(m.id);
          continue;
        }
        m.body = r.Text(5);
        if (r.Bool(7)) m.headers = ParseHeaders(r.Text(6));
        m.lease = NewRequestId();
        m.lease_until_ms = now + o.lease_ms;
        out.push_back(std::move(m));
      }
      for (const auto& id : dead) C19_TRY(MoveToDead(tx, id, "lease expired on the last attempt", now));
      if (!out.empty()) {
        // Each message gets its own lease token, all in one statement.
        std::string sql_update = "UPDATE queue_messages SET attempts = attempts + 1, available_at = ?, consumer = ?, "
                                 "lease = CASE id";
        db::Params p;
        p.reserve(2 + out.size() * 3);
        p.emplace_back(now + o.lease_ms);
        p.emplace_back(o.consumer);
        for (const auto& m : out) {
          sql_update += " WHEN ? THEN ?";
          p.emplace_back(m.id);
          p.emplace_back(m.lease);
        }
        sql_update += " END WHERE id IN (" + Placeholders(out.size()) + ")";
        for (const auto& m : out) p.emplace_back(m.id);
        C19_TRY(tx.Exec(sql_update, p));
      }
      return out;
    });
  }

  Status MoveToDead(db::Executor& tx, const std::string& id, const std::string& error, int64_t now) {
    C19_TRY(tx.Exec("INSERT INTO queue_dead (id, topic, priority, enqueued_at, attempts, max_attempts, body, headers, "
                    "last_error, died_at) SELECT id, topic, priority, enqueued_at, attempts, max_attempts, body, "
                    "headers, CASE WHEN ? = '' THEN last_error ELSE ? END, ? FROM queue_messages WHERE id = ?",
                    {error, error, now, id}));
    C19_TRY(tx.Exec("DELETE FROM queue_messages WHERE id = ?", {id}));
    return OkStatus();
  }

  Status Ack(const std::vector<Message>& messages) override {
    if (messages.empty()) return OkStatus();
    int64_t lost = 0;
    C19_TRY(db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      std::string sql = "DELETE FROM queue_messages WHERE ";
      db::Params p;
      for (size_t i = 0; i < messages.size(); ++i) {
        sql += i ? " OR (id = ? AND lease = ?)" : "(id = ? AND lease = ?)";
        p.push_back(messages[i].id);
        p.push_back(messages[i].lease);
      }
      C19_ASSIGN_OR_RETURN(int64_t n, tx.Exec(sql, p));
      lost = static_cast<int64_t>(messages.size()) - n;
      return OkStatus();
    }));
    if (lost > 0) {
      return Error::FailedPrecondition(std::to_string(lost) + " message(s) were not acknowledged: their lease expired "
                                       "and they were delivered again");
    }
    return OkStatus();
  }

  Status Nack(const Message& m, const std::string& error, std::optional<int64_t> delay_ms) override {
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Status {
      int64_t now = o_.clock->NowMs();
      C19_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT attempts, max_attempts FROM queue_messages WHERE id = ? AND "
                                               "lease = ?",
                                               {m.id, m.lease}));
      if (rows.empty()) return Error::FailedPrecondition("the message's lease expired; it was delivered again");
      int attempts = static_cast<int>(rows[0].Int(0));
      if (attempts >= rows[0].Int(1)) {
        C19_TRY(tx.Exec("UPDATE queue_messages SET last_error = ? WHERE id = ?", {error.substr(0, 4000), m.id}));
        return MoveToDead(tx, m.id, error.substr(0, 4000), now);
      }
      int64_t delay = delay_ms ? *delay_ms : Backoff(attempts);
      C19_TRY(tx.Exec("UPDATE queue_messages SET lease = NULL, available_at = ?, last_error = ? WHERE id = ?",
                      {now + delay, error.substr(0, 4000), m.id}));
      return OkStatus();
    });
  }

  // Exponential back-off with +-25 % jitter.
  int64_t Backoff(int attempts) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    double base = static_cast<double>(o_.backoff_base_ms) * std::pow(2.0, std::max(0, attempts - 1));
    base = std::min(base, static_cast<double>(o_.backoff_max_ms));
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    return static_cast<int64_t>(base * jitter(rng));
  }

  Status Release(const Message& m) override {
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE queue_messages SET lease = NULL, attempts = attempts - 1, "
                                             "available_at = ? WHERE id = ? AND lease = ?",
                                             {o_.clock->NowMs(), m.id, m.lease}));
    if (n == 0) return Error::FailedPrecondition("the message's lease expired; it was delivered again");
    return OkStatus();
  }

  Status ExtendLease(Message& m, int64_t lease_ms) override {
    int64_t until = o_.clock->NowMs() + lease_ms;
    C19_ASSIGN_OR_RETURN(int64_t n, db_.Exec("UPDATE queue_messages SET available_at = ? WHERE id = ? AND lease = ?",
                                             {until, m.id, m.lease}));
    if (n == 0) return Error::FailedPrecondition("the message's lease expired; it was delivered again");
    m.lease_until_ms = until;
    return OkStatus();
  }

  Result<std::vector<TopicStats>> Stats() override {
    int64_t now = o_.clock->NowMs();
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT topic, SUM(CASE WHEN lease IS NULL AND available_at <= ? THEN 1 "
                                              "ELSE 0 END), SUM(CASE WHEN lease IS NULL AND available_at > ? THEN 1 "
                                              "ELSE 0 END), SUM(CASE WHEN lease IS NOT NULL THEN 1 ELSE 0 END), "
                                              "MIN(CASE WHEN lease IS NULL AND available_at <= ? THEN enqueued_at END) "
                                              "FROM queue_messages GROUP BY topic",
                                              {now, now, now}));
    std::map<std::string, TopicStats> by;
    for (const auto& r : rows) {
      TopicStats& t = by[r.Text(0)];
      t.topic = r.Text(0);
      t.ready = r.Int(1);
      t.delayed = r.Int(2);
      t.in_flight = r.Int(3);
      if (!r.IsNull(4)) t.oldest_ready_age_ms = now - r.Int(4);
    }
    C19_ASSIGN_OR_RETURN(auto dead, db_.Query("SELECT topic, COUNT(*) FROM queue_dead GROUP BY topic"));
    for (const auto& r : dead) {
      TopicStats& t = by[r.Text(0)];
      t.topic = r.Text(0);
      t.dead = r.Int(1);
    }
    std::vector<TopicStats> out;
    for (auto& [k, v] : by) out.push_back(v);
    return out;
  }

  Result<std::vector<Message>> DeadLetters(const std::string& topic, int64_t limit, int64_t offset) override {
    C19_ASSIGN_OR_RETURN(auto rows, db_.Query("SELECT id, priority, enqueued_at, attempts, max_attempts, body, headers, "
                                              "last_error FROM queue_dead WHERE topic = ? ORDER BY died_at, id LIMIT ? "
                                              "OFFSET ?",
                                              {topic, limit, offset}));
    std::vector<Message> out;
    for (const auto& r : rows) {
      Message m;
      m.id = r.Text(0);
      m.topic = topic;
      m.priority = static_cast<Priority>(r.Int(1));
      m.enqueued_ms = r.Int(2);
      m.attempts = static_cast<int>(r.Int(3));
      m.max_attempts = static_cast<int>(r.Int(4));
      m.body = r.Text(5);
      m.headers = ParseHeaders(r.Text(6));
      m.last_error = r.Text(7);
      out.push_back(std::move(m));
    }
    return out;
  }

  Result<int64_t> Redrive(const std::string& topic, const std::vector<std::string>& ids) override {
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Result<int64_t> {
      int64_t now = o_.clock->NowMs();
      std::string where = "topic = ?";
      db::Params p{topic};
      if (!ids.empty()) {
        where += " AND id IN (" + Placeholders(ids.size()) + ")";
        for (const auto& id : ids) p.push_back(id);
      }
      db::Params insert_params{now};
      insert_params.insert(insert_params.end(), p.begin(), p.end());
      C19_ASSIGN_OR_RETURN(int64_t n, tx.Exec("INSERT INTO queue_messages (id, topic, priority, available_at, "
                                              "enqueued_at, attempts, max_attempts, body, headers, has_headers, "
                                              "last_error) SELECT id, topic, priority, ?, enqueued_at, 0, max_attempts, "
                                              "body, headers, CASE WHEN headers = '{}' THEN 0 ELSE 1 END, last_error "
                                              "FROM queue_dead WHERE " + where,
                                              insert_params));
      // Headers for filtering come back from the JSON copy.
      C19_ASSIGN_OR_RETURN(auto with_headers, tx.Query("SELECT id, headers FROM queue_dead WHERE " + where +
                                                           " AND headers <> '{}'",
                                                       p));
      for (const auto& r : with_headers) {
        for (const auto& [k, v] : ParseHeaders(r.Text(1))) {
          C19_TRY(tx.Exec("INSERT INTO queue_headers (message_id, name, value) VALUES (?, ?, ?) ON CONFLICT "
                          "(message_id, name) DO NOTHING",
                          {r.Text(0), k, v}));
        }
      }
      C19_TRY(tx.Exec("DELETE FROM queue_dead WHERE " + where, p));
      return n;
    });
  }

  Result<int64_t> Purge(const std::string& topic) override {
    return db::InTransaction(db_, [&](db::Transaction& tx) -> Result<int64_t> {
      C19_ASSIGN_OR_RETURN(int64_t live, tx.Exec("DELETE FROM queue_messages WHERE topic = ?", {topic}));
      C19_ASSIGN_OR_RETURN(int64_t dead, tx.Exec("DELETE FROM queue_dead WHERE topic = ?", {topic}));
      return live + dead;
    });
  }

 private:
  db::Database& db_;
  QueueOptions o_;
};

}  // namespace

Result<std::unique_ptr<Queue>> OpenDbQueue(db::Database& db, const QueueOptions& options) {
  return std::unique_ptr<Queue>(new DbQueue(db, options));
}

}  // namespace c19ai::queue

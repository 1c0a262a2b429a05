#pragma once
// The audit trail every state-changing operation writes to. `auth` implements it; `app` injects it
// into the other modules so that they do not depend on `auth` for it.

#include <cstdint>
#include <string>

#include "common/principal.h"
#include "common/result.h"

namespace c19ai {

struct AuditEntry {
  std::string actor_id;        // user id; empty for the system
  std::string actor_name;
  std::string action;          // "model.create", "user.deactivate", ...
  std::string resource;        // "model:iris", "user:0193..."
  std::string outcome = "success";  // success | failure | denied
  std::string request_id;
  std::string client_address;
  std::string details;         // a JSON object as text; never secrets
  int64_t at_ms = 0;           // 0 = now
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Records the entry. Failing to audit is logged but does not fail the caller's operation.
  virtual void Record(AuditEntry entry) = 0;
};

// HTTP requests are audited by the server's observer; what the system changes on its own (an internal
// actor: workers, retention, training registering a model) is recorded with this. `details` is a JSON
// object as text.
inline void AuditSystemChange(AuditLog* log, const Principal& actor, std::string action, std::string resource,
                              std::string details) {
  if (!log || !actor.internal) return;
  AuditEntry e;
  e.actor_name = actor.username;
  e.action = std::move(action);
  e.resource = std::move(resource);
  e.details = std::move(details);
  log->Record(std::move(e));
}

// Discards entries (tests, and tools that run before auth exists).
class NullAuditLog final : public AuditLog {
 public:
  void Record(AuditEntry) override {}
};

}  // namespace c19ai

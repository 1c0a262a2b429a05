#pragma once
// The event bus: typed domain events published by the modules and delivered to subscribers (the
// WebSocket hub, CLI followers, tests). Publishing never blocks on subscribers: each subscription has
// a bounded buffer and drops its oldest event (counted) when a slow reader lets it fill up.
// Thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace c19ai::events {

// Event types of the contract (API.md).
inline constexpr std::string_view kModelCreated = "model.created";
inline constexpr std::string_view kModelVersionCreated = "model.version.created";
inline constexpr std::string_view kModelVersionStageChanged = "model.version.stage_changed";
inline constexpr std::string_view kDeploymentChanged = "deployment.changed";
inline constexpr std::string_view kTrainingJobQueued = "training.job.queued";
inline constexpr std::string_view kTrainingJobStarted = "training.job.started";
inline constexpr std::string_view kTrainingJobProgress = "training.job.progress";
inline constexpr std::string_view kTrainingJobCheckpoint = "training.job.checkpoint";
inline constexpr std::string_view kTrainingJobSucceeded = "training.job.succeeded";
inline constexpr std::string_view kTrainingJobFailed = "training.job.failed";
inline constexpr std::string_view kTrainingJobCancelled = "training.job.cancelled";
inline constexpr std::string_view kSweepTrialStarted = "training.sweep.trial_started";
inline constexpr std::string_view kSweepTrialFinished = "training.sweep.trial_finished";
inline constexpr std::string_view kSweepFinished = "training.sweep.finished";
inline constexpr std::string_view kDatasetCreated = "dataset.created";
inline constexpr std::string_view kDatasetValidated = "dataset.validated";
inline constexpr std::string_view kUserDeactivated = "user.deactivated";

// Rooms of the contract.
inline constexpr std::string_view kRoomModels = "models";
inline constexpr std::string_view kRoomDeployments = "deployments";
inline constexpr std::string_view kRoomDatasets = "datasets";
inline constexpr std::string_view kRoomSystem = "system";
inline std::string TrainingRoom(std::string_view job_id) { return "training." + std::string(job_id); }
inline std::string UserRoom(std::string_view user_id) { return "user." + std::string(user_id); }

struct Event {
  std::string id;    // "<room>:<sequence>", assigned by the bus
  std::string type;  // e.g. kModelCreated
  std::string room;
  std::string data;  // a JSON object as text
  int64_t ts_ms = 0; // assigned by the bus when 0
  uint64_t sequence = 0;
};

class Subscription {
 public:
  virtual ~Subscription() = default;
  // The next event, waiting up to `timeout`; nullopt on timeout or after Close().
  virtual std::optional<Event> Next(std::chrono::milliseconds timeout) = 0;
  // Events dropped because this subscriber's buffer was full.
  virtual uint64_t dropped() const = 0;
  // Wakes a waiting Next() and stops delivery.
  virtual void Close() = 0;
};

struct SubscribeOptions {
  std::vector<std::string> rooms;        // exact rooms; empty with no prefixes = every event
  std::vector<std::string> room_prefixes;  // e.g. "training."
  size_t capacity = 4096;                  // buffered events before drop-oldest
};

struct BusStats {
  uint64_t published = 0;
  uint64_t delivered = 0;
  uint64_t dropped = 0;
  int64_t subscribers = 0;
};

class EventBus {
 public:
  virtual ~EventBus() = default;
  // Assigns id/sequence/ts and delivers to every matching subscription. Never blocks on readers.
  virtual void Publish(Event event) = 0;
  virtual std::unique_ptr<Subscription> Subscribe(const SubscribeOptions& options) = 0;
  virtual BusStats Stats() const = 0;
};

// Publishes `data` (a JSON object as text) as an event of `type` in `room`; nothing without a bus.
inline void Publish(EventBus* bus, std::string room, std::string_view type, std::string data) {
  if (!bus) return;
  Event e;
  e.type = std::string(type);
  e.room = std::move(room);
  e.data = std::move(data);
  bus->Publish(std::move(e));
}

std::unique_ptr<EventBus> NewInProcessBus();

// Opens the bus a URL names: memory:// (in-process). invalid_argument for other schemes.
Result<std::unique_ptr<EventBus>> Open(std::string_view url);

}  // namespace c19ai::events

#pragma once
// Pieces of the events module shared by its buses (internal).

#include <memory>
#include <string>

#include "events/events.h"

namespace c19ai::events {

// The in-process bus, with an entry point for events whose id and sequence were already assigned
// elsewhere (the distributed buses deliver what they receive through it).
class LocalBus : public EventBus {
 public:
  virtual void Deliver(Event event) = 0;
};
std::unique_ptr<LocalBus> NewLocalBus();

// JSON encoding of an event for the wire.
std::string EncodeEvent(const Event& e);
bool DecodeEvent(std::string_view text, Event& e);

std::unique_ptr<EventBus> NewRedisBus(std::string host, int port, int db, std::string password);
std::unique_ptr<EventBus> NewPostgresBus(std::string url);

}  // namespace c19ai::events

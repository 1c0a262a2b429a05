#pragma once
// The queue module's HTTP side (target c19ai_queue_http): topic statistics, publishing, dead letters.

#include "http/http.h"
#include "queue/queue.h"

namespace c19ai::queue {

Status RegisterRoutes(http::Router& router, Queue& queue);

}  // namespace c19ai::queue

#pragma once
// The auth module's HTTP side (target c19ai_auth_http): its routes, the request authenticator
// installed on the server, and the audit observer that records every state-changing request.

#include <memory>

#include "auth/auth.h"
#include "http/http.h"

namespace c19ai {
class ThreadPool;
}

namespace c19ai::auth {

// `pool` runs the blocking halves of async routes (/auth/me on a cache miss).
Status RegisterRoutes(http::Router& router, AuthService& auth, ThreadPool& pool);

// Bearer access tokens and X-API-Key keys; answers from the cache on the io thread when it can.
std::unique_ptr<http::Authenticator> MakeAuthenticator(AuthService& auth);

// Records every POST/PUT/PATCH/DELETE that reached a route: who, what, resource, outcome, request id,
// client address, time.
std::unique_ptr<http::RequestObserver> MakeAuditObserver(AuthService& auth);

}  // namespace c19ai::auth

// The one translation unit that compiles Asio, Asio SSL and Beast (separate compilation).
#include <utility>  // Boost 1.74's Asio misses it under g++ 12

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>

// Listening sockets: one per worker, all bound with SO_REUSEPORT to the same
// address so the kernel spreads connections (ARCHITECTURE.md §1).
#pragma once
#include "net/address.h"

namespace rover::net {

// Returns a non-blocking listening fd, or -1 with errno set.
int openListener(const Address& addr, int backlog);

}  // namespace rover::net

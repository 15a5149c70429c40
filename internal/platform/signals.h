#pragma once

#include <functional>

namespace modeld::platform {

// Blocks SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 in the calling thread
// (and so in every thread it starts later), so they are only ever taken by
// WaitForStopSignal, never delivered with their default action (which ends
// the process for all five), and ignores SIGPIPE.
// Call it before starting any thread.
void BlockServiceSignals();

// Waits for SIGINT or SIGTERM and returns it. Every other blocked signal
// (SIGHUP, SIGUSR1, SIGUSR2) is passed to `other` and the wait goes on.
int WaitForStopSignal(const std::function<void(int)>& other);

// "SIGTERM", "SIGHUP", ...
const char* SignalName(int sig);

}  // namespace modeld::platform

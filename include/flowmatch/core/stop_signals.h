#pragma once
#include <csignal>
#include <string>

#include "flowmatch/core/error.h"

namespace flowmatch {

// SIGINT and SIGTERM, caught while an object of this class lives: a signal sets a flag that long
// loops poll between steps, so they can save their state and stop cleanly. The previous handlers
// come back when the object goes. Objects nest: a signal caught by an outer one (between two long
// loops) is seen by the inner ones.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const;
  int signal() const;        // SIGINT or SIGTERM once requested, 0 before
  const char* name() const;  // "SIGINT" or "SIGTERM" once requested

 private:
  struct sigaction previous_int_, previous_term_;
};

// Work stopped by SIGINT or SIGTERM after saving what it had done, so that it can resume. The
// command line prints the message and exits with 128 + the signal's number, as a shell reports a
// process that the signal ended (130 for Ctrl-C).
class Stopped : public Error {
 public:
  Stopped(int signal, const std::string& message) : Error(message), signal_(signal) {}
  int signal() const { return signal_; }

 private:
  int signal_;
};

}  // namespace flowmatch

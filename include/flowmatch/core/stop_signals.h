#pragma once
#include <csignal>

namespace flowmatch {

// SIGINT and SIGTERM, caught while an object of this class lives: a signal sets a flag that long
// loops poll between steps, so they can save their state and stop cleanly. The previous handlers
// come back when the object goes.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const;
  const char* name() const;  // "SIGINT" or "SIGTERM" once requested

 private:
  struct sigaction previous_int_, previous_term_;
};

}  // namespace flowmatch

#include "flowmatch/core/stop_signals.h"

namespace flowmatch {

namespace {
volatile std::sig_atomic_t received = 0;
int depth = 0;  // objects alive: an inner one keeps what the outer one caught

void on_signal(int signal) { received = signal; }
}  // namespace

StopSignals::StopSignals() {
  if (depth++ == 0) received = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

StopSignals::~StopSignals() {
  --depth;
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
}

bool StopSignals::requested() const { return received != 0; }

int StopSignals::signal() const { return received; }

const char* StopSignals::name() const { return received == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace flowmatch

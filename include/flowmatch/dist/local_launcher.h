#pragma once
#include <chrono>
#include <string>
#include <vector>

namespace flowmatch {

// `flowmatch train --nproc N`: runs `program` with `arguments` (argv[0] first) as N processes of one job on this
// machine, as torchrun would: each gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1 and a free MASTER_PORT. SIGINT and SIGTERM are passed on to every rank.
// When a rank fails, the others get `grace` to stop on their own (their collectives fail or time
// out), then are killed. Returns "" when every rank succeeded, else which rank failed first and how:
// "rank 1 (pid 4242) was killed by signal 9 (Killed)", or "SIGINT passed on to every rank".
std::string run_local_job(int processes, const std::string& program, const std::vector<std::string>& arguments,
                  std::chrono::seconds grace);

}  // namespace flowmatch

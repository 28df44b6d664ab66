#pragma once
#include <cstdint>
#include <string>

namespace flowmatch {

// Work too large for the machine is refused before it starts, with its estimated size and the
// memory available, rather than killed by the kernel half-way (leaving a run folder behind) or
// stopped by the allocator's own message.

// The memory the kernel says is available to a new process (MemAvailable in /proc/meminfo), in
// bytes; 0 when it cannot be read.
int64_t available_memory_bytes();

// "1.5 GiB", "12.0 MiB".
std::string describe_bytes(double bytes);

// Throws Error("<what> needs about X but Y is available ...") when `bytes` exceeds the available
// memory; does nothing when that is unknown. Estimates are doubles, so that products of huge
// counts do not overflow.
void require_memory(double bytes, const std::string& what);

// The same for a file of about `bytes` to be written at `path`: throws Error when the free space of
// the filesystem holding its folder is smaller; does nothing when that is unknown.
void require_disk_space(const std::string& path, double bytes, const std::string& what);

}  // namespace flowmatch

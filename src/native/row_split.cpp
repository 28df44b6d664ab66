#include "flowmatch/native/row_split.h"

#include <algorithm>

namespace flowmatch::native {

int row_parts(int64_t rows, int threads, int64_t min_rows) {
  return int(std::clamp<int64_t>(rows / std::max<int64_t>(min_rows, 1), 1, std::max(threads, 1)));
}

void split_rows(int64_t rows, int parts, const std::function<void(int, int64_t, int64_t)>& body) {
  auto share = [&](int part) { return rows * part / parts; };  // part k: rows share(k) .. share(k + 1) - 1
  if (parts <= 1) return body(0, 0, rows);
#pragma omp parallel for num_threads(parts) schedule(static, 1)
  for (int part = 0; part < parts; ++part) body(part, share(part), share(part + 1));
}

}  // namespace flowmatch::native

#include "flowmatch/core/blas_kernels.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

namespace flowmatch {

std::string blas_core() {
  // Looked up at run time, as in threads.cpp: a LibTorch built on MKL has no OpenBLAS.
  using CoreName = char* (*)();
  auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return core_name ? core_name() : "";
}

std::string better_blas_core() {
#if defined(__x86_64__) && defined(__GNUC__)
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
  std::string core = blas_core();
  static const std::set<std::string> kWithAvx2 = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
  if (core.empty() || kWithAvx2.count(core)) return "";
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return "";
  bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return avx512 ? "SkylakeX" : "Haswell";
#else
  return "";
#endif
}

void use_best_blas_kernels(char** argv) {
  std::string core = better_blas_core();
  if (core.empty()) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);  // also what the program's own children inherit
  execv("/proc/self/exe", argv);
}

}  // namespace flowmatch

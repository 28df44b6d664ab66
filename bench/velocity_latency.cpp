// Latency of one velocity evaluation v(x, t) in a warm process, the case of a policy or a simulator
// that asks for one sample at a time: the median over many calls, in microseconds, for 1 and 16
// points, with LibTorch's module under inference mode and with the native engine
// (model/native_mlp.h). docs/performance.md compares it with the PyTorch twin's.
//
//   velocity_latency MODEL.safetensors|RUN_DIR [--calls N]
//
// Prints {"torch": {"1": us, "16": us}, "native": {"1": us, "16": us}}.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowmatch/core/blas_kernels.h"
#include "flowmatch/core/threads.h"
#include "flowmatch/model/native_mlp.h"
#include "flowmatch/train/model_usage.h"

namespace {

double median_microseconds(flowmatch::VelocityModel& model, int64_t rows, int calls) {
  at::Tensor x = torch::randn({rows, model.data_dim()}), t = torch::full({rows}, 0.5f);
  std::vector<double> times;
  for (int i = 0; i < calls + calls / 10; ++i) {  // the first tenth warms up
    auto start = std::chrono::steady_clock::now();
    at::Tensor v = model.forward(x, t);
    std::chrono::duration<double, std::micro> elapsed = std::chrono::steady_clock::now() - start;
    if (i >= calls / 10) times.push_back(elapsed.count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  flowmatch::use_best_blas_kernels(argv);  // the kernels the flowmatch command runs
  if (argc < 2) {
    std::cerr << "usage: velocity_latency MODEL.safetensors|RUN_DIR [--calls N]\n";
    return 2;
  }
  int calls = argc >= 4 && std::string(argv[2]) == "--calls" ? std::atoi(argv[3]) : 2000;
  if (calls < 10) {
    std::cerr << "--calls takes a count of at least 10\n";
    return 2;
  }
  flowmatch::set_compute_threads(1, flowmatch::Workload::NativeKernels);  // one point: one core
  std::shared_ptr<flowmatch::VelocityModel> module = flowmatch::load_trained_model(argv[1]).model;
  module->eval();
  flowmatch::NativeMLP native(module, 1);
  c10::InferenceMode inference;
  nlohmann::json result;
  for (int64_t rows : {1, 16}) {
    result["torch"][std::to_string(rows)] = median_microseconds(*module, rows, calls);
    result["native"][std::to_string(rows)] = median_microseconds(native, rows, calls);
  }
  std::cout << result.dump() << "\n";
}

// The unet's 3 x 3 stride-1 convolutions on the two engines: LibTorch's (oneDNN's direct kernels,
// what --engine torch runs) against native/winograd_convolution.h (oneDNN's Winograd kernels, what
// --engine native runs), on plain NCHW tensors, layout reorders included on both sides. Each shape of
// the default unet on 28 x 28 images is timed forward and backward (the input and the weight
// gradient), alternating the two engines, and weighted by how often one pass of the network runs it.
// docs/performance.md ("The unet") quotes it.
//
//   convolution_kernels [--batch B] [--rounds R]
//
// Prints a markdown table: milliseconds per pass of the network, medians over the rounds.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "flowmatch/core/allocator.h"
#include "flowmatch/core/threads.h"
#include "flowmatch/native/winograd_convolution.h"

namespace {

struct Shape {
  int64_t in, out, size, uses;  // channels in and out, H = W, convolutions of this shape in the network
};
// The default unet (widths 32, 64, 64) on 1 x 28 x 28: stem, the residual blocks' two convolutions,
// the upsampling convolutions and out_conv.
const Shape kShapes[] = {{1, 32, 28, 1},  {32, 32, 28, 3},  {64, 32, 28, 2}, {32, 64, 14, 1}, {64, 64, 14, 3},
                         {128, 64, 14, 1}, {64, 64, 7, 7},  {128, 64, 7, 1}, {32, 1, 28, 1}};

double milliseconds(const std::function<void()>& job) {
  auto start = std::chrono::steady_clock::now();
  job();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t batch = 64;
  int rounds = 15;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch")) batch = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  flowmatch::keep_freed_memory();  // as flowmatch runs: LibTorch's outputs do not page-fault anew each call
  flowmatch::set_compute_threads(0, flowmatch::Workload::Convolutions);
  torch::NoGradGuard no_grad;
  const char* passes[] = {"forward", "backward (input and weight gradients)"};
  double total[2][2] = {};  // [engine][pass], ms per pass of the network
  for (const Shape& s : kShapes) {
    if (!flowmatch::native::WinogradConv3x3::available({batch, s.in, s.out, s.size, s.size})) {
      std::printf("no Winograd kernels on this CPU for %lld -> %lld channels (they need AVX-512)\n", (long long)s.in,
                  (long long)s.out);
      return 1;
    }
    auto& winograd = flowmatch::native::WinogradConv3x3::of({batch, s.in, s.out, s.size, s.size});
    at::Tensor x = torch::randn({batch, s.in, s.size, s.size}), w = torch::randn({s.out, s.in, 3, 3}) * 0.1,
               b = torch::randn({s.out}), dy = torch::randn({batch, s.out, s.size, s.size});
    at::Tensor y = torch::empty_like(dy), dx = torch::empty_like(x), dw = torch::empty_like(w), db = torch::empty_like(b);
    std::vector<std::function<void()>> jobs[2] = {
        {[&] { at::conv2d(x, w, b, 1, 1); },
         [&] {  // what autograd calls for a convolution
           at::convolution_backward(dy, x, w, c10::IntArrayRef{s.out}, {1, 1}, {1, 1}, {1, 1}, false, {0, 0}, 1,
                                    {true, true, true});
         }},
        {[&] { winograd.forward(x.data_ptr<float>(), w.data_ptr<float>(), b.data_ptr<float>(), y.data_ptr<float>()); },
         [&] {
           winograd.input_grad(dy.data_ptr<float>(), w.data_ptr<float>(), dx.data_ptr<float>());
           winograd.weight_grad(x.data_ptr<float>(), dy.data_ptr<float>(), dw.data_ptr<float>(), db.data_ptr<float>());
         }}};
    for (int pass = 0; pass < 2; ++pass) {
      std::vector<double> times[2];
      for (int round = 0; round < rounds + 2; ++round)  // two warm-up rounds
        for (int engine = 0; engine < 2; ++engine) {
          double ms = milliseconds(jobs[engine][pass]);
          if (round >= 2) times[engine].push_back(ms);
        }
      for (int engine = 0; engine < 2; ++engine) total[engine][pass] += double(s.uses) * median(times[engine]);
    }
  }
  std::printf("| batch %lld, ms per pass of the network | LibTorch (direct) | Winograd | ratio |\n| --- | --- | --- | --- |\n",
              (long long)batch);
  for (int pass = 0; pass < 2; ++pass)
    std::printf("| %s | %.1f | %.1f | %.2f |\n", passes[pass], total[0][pass], total[1][pass], total[0][pass] / total[1][pass]);
  return 0;
}

// Fine-tunes a trained flow by maximum likelihood, the library's log_likelihood as the loss:
// minimise -mean log p(x) over data batches, backpropagating through the ODE solve and the exact
// divergence (a fixed-grid solver, so the graph has a known size).
//
//   likelihood_finetune MODEL DATA STEPS OUT.safetensors
//   e.g. likelihood_finetune runs/cb checkerboard 100 runs/cb/model-mle.safetensors
#include <torch/torch.h>

#include <iostream>

#include "flowmatch/core/run_start.h"
#include "flowmatch/data/point_data.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/ode/likelihood.h"
#include "flowmatch/train/model_usage.h"

using namespace flowmatch;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: likelihood_finetune MODEL DATA STEPS OUT.safetensors\n";
    return 2;
  }
  try {
    at::Generator gen = start_run(/*seed=*/0);
    auto model = load_trained_model(argv[1]).model;
    PointData data(argv[2], 0, gen);
    const int64_t steps = std::stoll(argv[3]);
    at::Tensor held_out = data.reference(2000, gen);

    LikelihoodOptions options;
    options.solver.method = "rk4";
    options.solver.steps = 8;
    auto held_out_nll = [&] {
      torch::NoGradGuard no_grad;
      return summarize_nll(log_likelihood(*model, held_out, options, gen).log_density, data.dim());
    };
    NllSummary before = held_out_nll();
    std::cout << "held-out NLL before: " << before.nats << " ± " << before.nats_se << " nats\n";

    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-4));
    for (int64_t step = 1; step <= steps; ++step) {
      at::Tensor nll = -log_likelihood(*model, data.batch(256, gen), options, gen).log_density.mean();
      optimizer.zero_grad();
      nll.backward();
      optimizer.step();
      if (step % 10 == 0) std::cout << "step " << step << ": batch NLL " << nll.item<double>() << "\n";
    }
    NllSummary after = held_out_nll();
    std::cout << "held-out NLL after:  " << after.nats << " ± " << after.nats_se << " nats\n";
    save_model(argv[4], *model);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

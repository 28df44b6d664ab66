// flowmatch inpaint MODEL|RUN_DIR --images X --mask right-half|left-half|top-half|bottom-half|center|random:P|M.npy|M.png
//                   --out Y.npy [--png GRID.png] [--n N] [--class K|--labels L.npy] [--cfg W]
//                   [--solver euler --steps 50 --noise-scale 30 --time-grid ...] [--corrector-steps 0] [--batch B]
//
// Fills the masked pixels of each image with a draw from the model's p(masked | kept pixels, class):
// the imputation of ode/imputation.h on pixels. The kept pixels come back bit for bit; the grid
// shows the originals, the masked images and the filled ones.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/registry.h"
#include "flowmatch/data/image_mask.h"
#include "flowmatch/figures/image_grid.h"
#include "flowmatch/io/npy.h"
#include "flowmatch/model/engine.h"
#include "flowmatch/ode/image_sampling.h"

namespace flowmatch::cli {

namespace {
struct InpaintArgs {
  std::string model, images, labels, mask, out, png, class_name;
  std::string engine = "auto";
  int64_t n = 0, batch = 50;
  double cfg = 1.0;
  bool overwrite = false;
  // Measured on Fashion-MNIST (docs/sampling.md): replacement along the SDE with strong noise fills
  // images closer to the truth, at 50 NFE, than Langevin corrections do at 3 to 40 times the cost.
  ImputationOptions imputation = [] {
    ImputationOptions images;
    images.solver.method = "euler";
    images.solver.steps = 50;
    images.solver.noise_scale = 30;
    images.corrector_steps = 0;
    return images;
  }();
  RunSettings run;
};

// The first (at most 16) images in three labelled rows: as given, with the masked pixels painted
// orange, and filled.
void draw_inpainting_grid(const std::string& path, const at::Tensor& originals, const at::Tensor& missing, const at::Tensor& filled,
                          const std::string& title) {
  const int64_t shown = std::min<int64_t>(originals.size(0), kGridMaxColumns);
  auto rgb = [&](const at::Tensor& images) { return images.slice(0, 0, shown).to(torch::kFloat).expand({shown, 3, -1, -1}); };
  const at::Tensor hidden = missing.slice(0, 0, shown).any(1, true).expand({shown, 3, -1, -1});
  const at::Tensor orange = torch::tensor({0.8f, 0.1f, -0.6f}).view({1, 3, 1, 1}).expand_as(hidden);  // [-1, 1] units
  const at::Tensor rows = torch::cat({rgb(originals), torch::where(hidden, orange, rgb(originals)), rgb(filled)});
  const at::Tensor row_labels = torch::arange(3, torch::kLong).repeat_interleave(shown);
  draw_image_grid_png(path, rows, row_labels, {"original", "masked", "filled"}, title);
}

void run_inpaint(const InpaintArgs& a, CLI::App* cmd) {
  if (a.images.empty()) throw Error("--images is required: a .npy [N, C, H, W] in [-1, 1] or an image set such as fashion-mnist:test");
  if (a.mask.empty()) throw Error("--mask is required: " + join_names(inpainting_mask_names()));
  if (a.out.empty()) throw Error("--out is required: a .npy file for the filled images");
  require_file_type(a.out, "--out", ".npy");
  if (!a.png.empty()) require_file_type(a.png, "--png", ".png");
  if (a.n < 0) throw Error("--n must be non-negative, got " + std::to_string(a.n));
  if (a.batch <= 0) throw Error("--batch must be positive, got " + std::to_string(a.batch));
  if (!std::isfinite(a.cfg)) throw Error("--cfg must be a finite number");
  a.imputation.validate();
  const std::string labels_out = a.out.substr(0, a.out.size() - 4) + ".labels.npy";
  check_writable_destination(a.out, a.overwrite);
  if (!a.png.empty()) check_writable_destination(a.png, a.overwrite);

  TrainedModel trained = load_trained_model(a.model);
  const ModelUsage& usage = trained.usage;
  if (trained.model->sample_shape().size() != 3) throw Error(a.model + " is a points model: inpaint fills pixels; impute fills points");
  if (trained.model->classes() > 0) check_writable_destination(labels_out, a.overwrite);
  PathAt path = usage.path_at(a.model, "inpainting", true);
  note_restarting_steps(a.imputation.solver, path);
  ImageSet set = read_images(a.images, a.labels);
  const int64_t n = a.n > 0 ? std::min(a.n, set.size()) : set.size();
  const at::Tensor images = set.images.slice(0, 0, n);
  const at::Tensor model_images = as_model_input(*trained.model, images, "images (" + a.images + ")");
  const at::Tensor labels = labels_of_images(set, n, a.class_name, cmd->count("--cfg") > 0, *trained.model, usage);
  at::Generator gen = start_run(a.run.seed, a.run.threads, Workload::Convolutions);
  const at::Tensor missing = inpainting_mask(a.mask, n, trained.model->sample_shape(), gen);

  std::shared_ptr<VelocityModel> model = on_engine(trained.model, a.engine, a.run.threads);
  const Guidance guidance{labels, a.cfg, {}};
  const Solution solved =
      impute_in_batches("inpaint", "images", *model, model_images, missing, path, a.imputation, a.batch, gen, guidance);
  const int64_t nfe = solved.nfe;
  const at::Tensor filled = torch::where(missing, solved.x.to(images.scalar_type()), images);  // kept pixels as given
  if (!torch::isfinite(filled).all().item<bool>())
    throw Error("the filled pixels are not finite: the model or the solver diverged; nothing was written");

  write_npy(a.out, filled);
  nlohmann::json report = {{"out", a.out},
                           {"n", n},
                           {"mask", a.mask},
                           {"missing_share", missing.to(torch::kDouble).mean().item<double>()},
                           {"solver", a.imputation.solver.describe()},
                           {"corrector_steps", a.imputation.corrector_steps},
                           {"nfe", nfe},
                           // what the masked pixels held before: the truth when the input was whole
                           {"mse_under_mask", (filled - images).pow(2).masked_select(missing).mean().item<double>()}};
  if (labels.defined()) {
    write_npy(labels_out, labels);
    report["labels"] = labels_out;
  }
  if (!a.png.empty()) {
    std::string title = "inpainted (" + a.mask + "): " + a.imputation.solver.describe() + ", " +
                        std::to_string(a.imputation.corrector_steps) + " corrections (" + std::to_string(nfe) + " NFE)";
    draw_inpainting_grid(a.png, images, missing, filled, title);
    report["png"] = a.png;
  }
  print_report(report);
}
}  // namespace

void add_inpaint_command(CLI::App& app) {
  auto args = std::make_shared<InpaintArgs>();
  CLI::App* cmd = app.add_subcommand("inpaint", "Fill the masked pixels of images with draws from the model's p(masked | kept pixels)");
  cmd->add_option("model", args->model, "A weights file (.safetensors) or a run folder of an image model")->required();
  cmd->add_option("--images", args->images, "The images: a .npy [N, C, H, W] in [-1, 1], or an image set such as fashion-mnist:test");
  cmd->add_option("--mask", args->mask,
                  "The pixels to fill: left-half, right-half, top-half, bottom-half, center, random:P (each pixel with probability P), "
                  "or a file: .npy of 0/1 ([H, W], [N, H, W] or [N, C, H, W]; 1 = fill) or .png (white = fill)");
  cmd->add_option("--out", args->out, "Where to write the filled images (.npy), and a class-conditional model's labels beside it");
  cmd->add_option("--png", args->png, "Also draw a grid of the first 16: original, masked, filled");
  cmd->add_option("--n", args->n, "Inpaint the first N images (default: all)");
  cmd->add_option("--class", args->class_name, "Class-conditional models: fill every image as this class (index or name)");
  cmd->add_option("--labels", args->labels, "Class-conditional models: the images' int64 labels (.npy); default: the set's own");
  cmd->add_option("--cfg", args->cfg, "Classifier-free guidance weight, as in sample")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Images filled together")->capture_default_str();
  add_corrector_options(cmd, args->imputation);
  add_engine_option(cmd, args->engine);
  add_solver_options(cmd, args->imputation.solver, false);
  add_stochastic_option(cmd, args->imputation.solver);
  add_overwrite_flag(cmd, args->overwrite);
  add_run_options(cmd, args->run);
  cmd->callback([args, cmd] { run_inpaint(*args, cmd); });
}

}  // namespace flowmatch::cli

// flowmatch convert IN.pt OUT.safetensors --model NAME [model options] [--key KEY]
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/torch_state_dict.h"
#include "flowmatch/model/model_registry.h"
#include "flowmatch/model/module_weights.h"

namespace flowmatch::cli {

namespace {
struct ConvertArgs {
  std::string in, out, key;
  ModelArgs net;
  int64_t data_dim = 2;
  std::vector<int64_t> image_shape;  // unet: [C, H, W]
  int64_t classes = 0;
  bool overwrite = false;
};

// Names saved by a model wrapped in DataParallel or DistributedDataParallel ("module.") or compiled
// by torch.compile ("_orig_mod.") carry the wrapper's prefix; the model's own names follow it.
void strip_wrapper_prefix(Safetensors& state, const std::string& path) {
  for (const std::string prefix : {"module.", "_orig_mod."}) {
    bool all = !state.tensors.empty();
    for (const auto& item : state.tensors) all = all && item.first.rfind(prefix, 0) == 0;
    if (!all) continue;
    for (auto& item : state.tensors) item.first.erase(0, prefix.size());
    std::cerr << path << ": every name starts with '" << prefix << "' (a wrapped model's); read without it\n";
  }
}

// A points model's sizes as its state_dict shows them (seed-mlp and mlp name their tensors alike):
// in_projection [width, ...], t_projection [width, time_dim], out_projection [data_dim, width],
// blocks.K.*, and mlp's fourier_basis [data_dim, features]. Each fills an option the command line
// left unset, so that converting needs only --model.
void read_sizes_from_shapes(const Safetensors& state, ConvertArgs& a, CLI::App* cmd) {
  auto rows = [&](const std::string& name, int64_t dim) { return state.has(name) ? state.at(name).size(dim) : 0; };
  int64_t blocks = 0;
  for (const auto& [name, tensor] : state.tensors)
    if (name.rfind("blocks.", 0) == 0) blocks = std::max<int64_t>(blocks, std::atoll(name.c_str() + 7) + 1);
  std::vector<std::pair<const char*, int64_t*>> read = {{"--width", &a.net.width}, {"--time-dim", &a.net.time_dim},
                                                        {"--depth", &a.net.depth}, {"--data-dim", &a.data_dim}};
  std::vector<int64_t> shown = {rows("in_projection.weight", 0), rows("t_projection.weight", 1), blocks,
                                rows("out_projection.weight", 0)};
  for (size_t i = 0; i < read.size(); ++i)
    if (!cmd->count(read[i].first) && shown[i] > 0) *read[i].second = shown[i];
  if (a.net.name == "mlp" && !cmd->count("--fourier-features") && state.has("fourier_basis"))
    a.net.fourier_features = rows("fourier_basis", 1);
}

void run_convert(ConvertArgs& a, CLI::App* cmd) {
  if (a.net.name.empty()) throw Error("--model is required: the network the state_dict belongs to (mlp, seed-mlp or unet)");
  if (std::filesystem::path(a.out).extension() != ".safetensors") throw Error("OUT must name a .safetensors file, got " + a.out);
  check_writable_destination(a.out, a.overwrite);
  bool unet = a.net.name == "unet";
  if (unet && a.image_shape.size() != 3) throw Error("--model unet needs --image-shape C,H,W");
  if (!unet && (!a.image_shape.empty() || a.classes != 0))
    throw Error("--image-shape and --classes are for --model unet; points models take --data-dim");
  Safetensors state = read_torch_state_dict(a.in, a.key);
  strip_wrapper_prefix(state, a.in);
  if (!unet) read_sizes_from_shapes(state, a, cmd);
  if (a.data_dim < 1) throw Error("--data-dim must be positive, got " + std::to_string(a.data_dim));
  auto model = make_model(a.net.config(unet ? a.image_shape : std::vector<int64_t>{a.data_dim}, a.classes, 0, false));
  load_module_weights(*model, state, a.in);
  save_model(a.out, *model, {{"flowmatch.converted_from", std::filesystem::path(a.in).filename().string()}});
  print_report({{"model", a.out}, {"config", model->config().dump()}, {"tensors", state.tensors.size()},
                {"parameters", parameter_count(*model)}});
}
}  // namespace

void add_convert_command(CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert a PyTorch state_dict saved with torch.save into flowmatch weights (safetensors)");
  cmd->add_option("IN", args->in, "The torch.save file (zip format), e.g. model.pt")->required()->check(CLI::ExistingFile);
  cmd->add_option("OUT", args->out, "The flowmatch weights file to write (.safetensors)")->required();
  cmd->add_option("--key", args->key,
                  "The state_dict's key in a checkpoint dict, e.g. model for torch.save({'model': ..., 'optimizer': ...})");
  cmd->add_flag("--overwrite", args->overwrite, "Replace OUT if it exists");
  add_model_options(cmd, args->net);
  auto* shape = cmd->add_option_group("Shape");
  shape->add_option("--data-dim", args->data_dim, "Points models: the dimension of a point")->capture_default_str();
  shape->add_option("--image-shape", args->image_shape, "unet: channels, height and width, e.g. 1,28,28")
      ->delimiter(',')->expected(3);
  shape->add_option("--classes", args->classes, "unet: the number of classes it is conditioned on (0 = unconditional)")
      ->capture_default_str();
  cmd->callback([args, cmd] { run_convert(*args, cmd); });
}

}  // namespace flowmatch::cli

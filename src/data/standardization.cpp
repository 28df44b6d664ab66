#include "flowmatch/data/standardization.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "flowmatch/core/error.h"

namespace flowmatch {

Standardization Standardization::fit(const at::Tensor& x) {
  if (x.dim() != 2 || x.size(0) < 1) throw Error("standardization needs [N, D] points, got " + c10::str(x.sizes()));
  at::Tensor rows = x.to(torch::kDouble);
  at::Tensor std = x.size(0) > 1 ? rows.std(0) : torch::ones({x.size(1)}, torch::kDouble);
  std = torch::where(std > 1e-12, std, torch::ones_like(std));  // a constant column stays as it is, shifted
  return {rows.mean(0), std};
}

at::Tensor Standardization::apply(const at::Tensor& x) const { return ((x.to(torch::kDouble) - mean) / std).to(x.scalar_type()); }

at::Tensor Standardization::undo(const at::Tensor& z) const { return (mean + std * z.to(torch::kDouble)).to(z.scalar_type()); }

at::Tensor Standardization::norms(const at::Tensor& x) const { return apply(x.to(torch::kDouble)).norm(2, 1); }

double Standardization::log_jacobian() const { return -std.log().sum().item<double>(); }

namespace {
std::vector<double> values(const at::Tensor& v) {
  at::Tensor c = v.contiguous();
  return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}
}  // namespace

std::string Standardization::to_json() const { return nlohmann::json{{"mean", values(mean)}, {"std", values(std)}}.dump(); }

Standardization Standardization::from_json(const std::string& json, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  Error malformed(what + " is not a standardization ({\"mean\": [...], \"std\": [...]})");
  if (j.is_discarded()) throw malformed;
  std::vector<double> mean, std;
  try {
    mean = j.at("mean").get<std::vector<double>>();
    std = j.at("std").get<std::vector<double>>();
  } catch (const nlohmann::json::exception&) {
    throw malformed;
  }
  bool positive = true;
  for (double s : std) positive = positive && s > 0 && std::isfinite(s);
  if (mean.empty() || mean.size() != std.size() || !positive)
    throw Error(what + " needs equal-length mean and std with every std positive");
  return {torch::tensor(mean, torch::kDouble), torch::tensor(std, torch::kDouble)};
}

}  // namespace flowmatch

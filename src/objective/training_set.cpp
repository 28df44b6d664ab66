#include "flowmatch/objective/training_set.h"

#include <torch/torch.h>

#include "flowmatch/core/error.h"
#include "flowmatch/data/conditional_data.h"
#include "flowmatch/data/image_set.h"
#include "flowmatch/data/toy_distributions.h"
#include "flowmatch/objective/context_pairs.h"
#include "flowmatch/objective/token_pairs.h"

namespace flowmatch {

namespace {
// x1 given a context: from the files, standardized as asked.
TrainingSet make_context_pairs(const TrainingData& spec, at::Generator& gen) {
  if (!spec.source.empty() || spec.coupling != "independent" || spec.data_n != 0)
    throw Error("a context takes the independent coupling from N(0, I) on a points file: minibatch OT would pair "
                "noise with rows of other contexts, and --source and --data-n do not apply");
  if (is_toy_distribution(spec.data)) throw Error("--context needs --data to be a points file (.npy/.csv), not the built-in " + spec.data);
  ConditionalData rows = load_conditional_data(spec.data, spec.context, spec.context_columns);
  TrainingSet set;
  if (spec.standardize) {
    set.data_scaling = Standardization::fit(rows.x);
    rows.x = set.data_scaling->apply(rows.x);
  }
  if (!spec.raw_context) {
    set.context_scaling = Standardization::fit(rows.context);
    set.context_reach = torch::quantile(set.context_scaling->norms(rows.context), 0.99).item<double>();
    rows.context = set.context_scaling->apply(rows.context);
  }
  std::string name = spec.data + " given " + (spec.context.empty() ? "its columns " + spec.context_columns : spec.context);
  set.pairs = std::make_unique<ContextPairs>(rows.x, rows.context, spec.validation, name, gen);
  return set;
}
}  // namespace

TrainingSet make_training_pairs(const TrainingData& spec, at::Generator& gen) {
  TrainingSet set;
  const TrainingData defaults;
  const bool token_options = spec.max_length != defaults.max_length || spec.truncate || spec.vocabulary != defaults.vocabulary ||
                             spec.bins != defaults.bins;
  if (is_token_source(spec.data)) {
    if (spec.coupling != "independent" || spec.data_n != 0 || spec.has_context() || spec.standardize || !spec.labels.empty() ||
        spec.flip || spec.unconditional)
      throw Error("--coupling, --data-n, --context, --standardize and the image options are for points and images; " + spec.data +
                  " holds tokens");
    TokenData data = read_token_data({spec.data, spec.max_length, spec.truncate, spec.vocabulary, spec.bins});
    set.characters = data.characters;
    set.vocabulary = data.vocabulary;
    set.pairs = std::make_unique<TokenPairs>(std::move(data), spec.source.empty() ? "mask" : spec.source);
    return set;
  }
  if (token_options) throw Error("--max-length, --truncate, --vocabulary and --bins are for token data; " + spec.data + " is not");
  if (is_image_source(spec.data)) {
    if (!spec.source.empty() || spec.coupling != "independent" || spec.data_n != 0 || spec.has_context() || spec.standardize)
      throw Error("--source, --coupling, --data-n, --context and --standardize are for points; images always start from N(0, I)");
    ImageSet images = load_image_source(spec.data, spec.labels, spec.image_size, spec.channels);
    if (!spec.unconditional) set.class_names = images.class_names;
    set.pairs = std::make_unique<ImagePairs>(std::move(images), spec.data, spec.flip);
    return set;
  }
  if (!spec.labels.empty() || spec.flip || spec.unconditional || spec.image_size != TrainingData{}.image_size ||
      spec.channels != TrainingData{}.channels)
    throw Error("--labels, --flip, --unconditional, --image-size and --channels are for images; " + spec.data + " holds points");
  if (spec.has_context()) return make_context_pairs(spec, gen);
  std::unique_ptr<Coupling> coupling = make_coupling(spec.coupling);
  PointData data(spec.data, spec.data_n, gen);
  if (spec.standardize) {
    if (!spec.source.empty()) throw Error("--standardize needs the flow to start from N(0, I), not from --source " + spec.source);
    if (!data.is_finite() || spec.data_n != 0) throw Error("--standardize applies to points files; " + spec.data + " is a built-in");
    set.data_scaling = Standardization::fit(data.points());
    data = PointData(data.source(), set.data_scaling->apply(data.points()));
  }
  std::optional<PointData> source;
  if (!spec.source.empty()) source.emplace(spec.source, 0, gen);
  set.pairs = std::make_unique<CoupledPairs>(data, source, std::move(coupling));
  return set;
}

}  // namespace flowmatch

#pragma once
#include <ATen/core/Generator.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowmatch/data/standardization.h"
#include "flowmatch/data/token_data.h"
#include "flowmatch/objective/training_pairs.h"

namespace flowmatch {

// What `flowmatch train` trains on: a built-in distribution, a points file, images or token
// sequences (`data`), and for points the source and coupling.
struct TrainingData {
  std::string data;                     // image_set.h's sources, point_data.h's, or token_data.h's
  int64_t data_n = 0;                   // points: a finite sample of this many (0 = fresh draws / the whole file)
  std::string source;                   // points: where the flow starts ("" = N(0, I)); tokens: mask ("") or uniform
  std::string coupling = "independent";
  std::string labels;                   // IDX images: their labels file
  int image_size = 32, channels = 0;    // picture folders: scaled to this square; 1, 3 or 0 (as the pictures are)
  bool flip = false;                    // images: flipped left-right with probability 1/2
  bool unconditional = false;           // images: their labels are ignored
  std::string context;                  // points: a file of one context row per data row (p(x | c))
  std::string context_columns;          // points: "A:B", columns A .. B - 1 of the data file as the context
  bool standardize = false;             // points from a file: z-score x (undone when sampling)
  bool raw_context = false;             // keep the context as given (by default it is z-scored)
  double validation = 0.1;              // data with a context: the share of rows held out
  int64_t max_length = 0;               // text: the sequence length (0: the longest line + 1)
  bool truncate = false;                // text: cut longer lines instead of refusing them
  int64_t vocabulary = 0;               // a .npy of tokens: its vocabulary (0: the largest token + 1)
  int64_t bins = 128;                   // discrete-checkerboard: bins per coordinate (the vocabulary)
  bool has_context() const { return !context.empty() || !context_columns.empty(); }
};

// What `train` trains on: the pairs, and what the model must remember of the data.
struct TrainingSet {
  std::unique_ptr<TrainingPairs> pairs;
  std::vector<std::string> class_names;             // images' classes (empty when unconditional)
  std::optional<Standardization> data_scaling;      // --standardize: x as the model sees it
  std::optional<Standardization> context_scaling;   // the context as the model sees it
  double context_reach = 0;                          // with it: the 99th percentile of the rows' ||z-score|| (model_usage.h)
  std::optional<CharacterVocabulary> characters;    // text: the characters its tokens stand for
  int64_t vocabulary = 0;                           // token data: V
};
// The pairs to train on, checking that the options fit the data (images take no source, coupling,
// data_n or context; points no labels, flip or unconditional; contexts only the independent
// coupling and no source; tokens none of the points' or images' options).
TrainingSet make_training_pairs(const TrainingData& spec, at::Generator& gen);

}  // namespace flowmatch

#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "flowmatch/figures/chart_axes.h"

namespace flowmatch {

// What a report shows of one run folder (run_dir.h).
struct RunSummary {
  std::string dir, name;  // the folder as given, and how the report names it
  std::vector<std::pair<std::string, std::string>> settings;  // config.toml's key = value, in its order
  std::vector<LineSeries> curves;  // each number of metrics.jsonl against the step (name: the field)
  nlohmann::json last;             // the last line of metrics.jsonl
  std::map<std::string, nlohmann::json> latest;  // each field's latest value (eval_* are on some lines only)
  std::vector<std::pair<std::string, std::string>> pictures;  // the folder's PNG files: name, bytes
};

// Reads a run folder: config.toml, metrics.jsonl and its PNG pictures. Throws Error naming the file
// when the folder or its metrics.jsonl is missing, or a line is not a JSON object with a step.
RunSummary read_run_summary(const std::string& dir);

// One self-contained HTML page of the runs: nothing loaded from elsewhere (a Content-Security-
// Policy forbids it), pictures embedded as data: URLs, charts as inline SVG. It holds each run's
// final scores, one chart per logged measure with every run's curve on shared axes, the latest
// samples, and the settings side by side, the rows where runs differ marked. Its layout follows
// the window's width, from a phone's to a desktop's. `generated`: when, for the header.
std::string run_report_html(const std::vector<RunSummary>& runs, const std::string& generated);

}  // namespace flowmatch

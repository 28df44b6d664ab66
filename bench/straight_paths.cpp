// The few-step benchmark of docs/straight.md. For each task it builds five models with the
// flowmatch CLI (their recipes live there, not here), then scores each at NFE 1, 2, 4, 8, 16, 32
// and 100 on 5000 samples, and reports path straightness and curvature and the training time.
//
//   straight_paths FLOWMATCH_BIN OUT_DIR TASK [--threads N] [--redraw]
//   TASK: checkerboard (from N(0, I)) or moons-8gaussians (data-to-data)
//
// Writes OUT_DIR/TASK/results.json, a Markdown table on stdout and OUT_DIR/straight-TASK.png.
// --redraw builds and scores nothing: it prints the table and draws the chart from an existing
// OUT_DIR/TASK/results.json (after a change to the chart, say).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "flowmatch/figures/figures.h"

namespace {

struct Report {
  std::map<std::string, std::string> values;
  double seconds = 0;
};

// Runs the CLI and returns its "key: value" report; exits on failure, showing the output.
Report run(const std::string& bin, const std::string& args) {
  std::cerr << "$ flowmatch " << args << "\n";
  auto start = std::chrono::steady_clock::now();
  FILE* pipe = popen((bin + " " + args + " 2>/dev/null").c_str(), "r");
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  if (pclose(pipe) != 0) {
    std::cerr << output << "\nfailed: flowmatch " << args << "\n";
    std::exit(1);
  }
  Report report;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line))
    if (size_t colon = line.find(": "); colon != std::string::npos) report.values[line.substr(0, colon)] = line.substr(colon + 2);
  return report;
}

struct Method {
  std::string name, folder;
  std::vector<std::string> builds;  // the CLI commands that build it; {R} is the task's folder
  std::string sampler;              // euler | jump
  std::string after;                // the method whose model it starts from (its time counts too), or ""
};

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

const std::vector<int> kNfes = {1, 2, 4, 8, 16, 32, 100};

// Builds and scores every method, saving OUT_DIR/TASK/results.json after each.
nlohmann::json measure(const std::vector<Method>& methods, const std::string& bin, const std::string& dir,
                       const std::string& data, const std::string& target, const std::string& threads) {
  std::filesystem::create_directories(dir);
  std::string common = " --threads " + threads + " --overwrite";
  nlohmann::json results = nlohmann::json::object();
  std::map<std::string, double> total_seconds;
  for (const auto& m : methods) {
    std::string folder = dir + "/" + m.folder;
    double seconds = m.after.empty() ? 0.0 : total_seconds[m.after];
    for (const auto& build : m.builds) seconds += run(bin, replace_all(build, "{R}", dir) + common).seconds;
    total_seconds[m.name] = seconds;
    nlohmann::json entry = {{"seconds", seconds}, {"sampler", m.sampler}};
    Report geometry = run(bin, "eval --flow " + folder + " --threads " + threads);
    entry["straightness"] = std::stod(geometry.values["straightness"]);
    entry["curvature"] = std::stod(geometry.values["curvature"]);
    for (int nfe : kNfes) {
      std::string samples = folder + "/samples-" + std::to_string(nfe) + ".npy";
      run(bin, "sample " + folder + " --n 5000 --seed 7 --solver " + m.sampler + " --steps " + std::to_string(nfe) +
                   " --out " + samples + " --threads " + threads + " --overwrite");
      Report score = run(bin, "eval " + samples + " --target " + target + " --seed 8 --threads " + threads);
      nlohmann::json at = {{"energy_distance", std::stod(score.values["energy_distance"])}};
      if (score.values.count("on_cell_fraction")) at["on_cell_fraction"] = std::stod(score.values["on_cell_fraction"]);
      entry["nfe"][std::to_string(nfe)] = at;
    }
    results[m.name] = entry;
    std::ofstream(dir + "/results.json") << results.dump(2) << "\n";
  }
  return results;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: straight_paths FLOWMATCH_BIN OUT_DIR checkerboard|moons-8gaussians [--threads N] [--redraw]\n";
    return 2;
  }
  std::string bin = argv[1], out = argv[2], task = argv[3];
  std::string threads = "0";
  bool redraw = false;
  for (int i = 4; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = argv[++i];
    else if (arg == "--redraw") redraw = true;
    else {
      std::cerr << "unknown argument " << arg << "\n";
      return 2;
    }
  }
  std::string data;
  if (task == "checkerboard") {
    data = "--data checkerboard";
  } else if (task == "moons-8gaussians") {
    data = "--data 8gaussians --source moons";
  } else {
    std::cerr << "unknown task " << task << "\n";
    return 2;
  }
  std::string target = task == "checkerboard" ? "checkerboard" : "8gaussians";
  std::string dir = out + "/" + task;

  const std::vector<Method> methods = {
      {"independent", "independent", {"train " + data + " --out {R}/independent"}, "euler", ""},
      {"ot", "ot", {"train " + data + " --coupling ot --out {R}/ot"}, "euler", ""},
      {"2-rectified", "2-rectified", {"reflow {R}/independent --out {R}/2-rectified"}, "euler", "independent"},
      {"2-rectified + distilled", "2-rectified-distilled",
       {"distill {R}/2-rectified --steps-out 1 --out {R}/2-rectified-distilled"}, "euler", "2-rectified"},
      {"ot, 2-rectified + distilled", "ot-2-rectified-distilled",
       {"reflow {R}/ot --out {R}/ot-2-rectified", "distill {R}/ot-2-rectified --steps-out 1 --out {R}/ot-2-rectified-distilled"},
       "euler", "ot"},
      {"meanflow (ot coupling)", "meanflow", {"train " + data + " --objective meanflow --coupling ot --out {R}/meanflow"},
       "jump", ""},
  };
  nlohmann::json results;
  if (redraw) {
    std::ifstream saved(dir + "/results.json");
    if (!saved) {
      std::cerr << "no " << dir << "/results.json to redraw from\n";
      return 1;
    }
    results = nlohmann::json::parse(saved);
    for (const auto& m : methods)
      if (!results.contains(m.name)) {  // a run stopped part-way
        std::cerr << dir << "/results.json has no results for " << m.name << "\n";
        return 1;
      }
  } else {
    results = measure(methods, bin, dir, data, target, threads);
  }
  // The table: one row per method, energy distance (and on-cell fraction) at each NFE.
  std::cout << "| " << task << " | train s | S | C |";
  for (int nfe : kNfes) std::cout << " NFE " << nfe << " |";
  std::cout << "\n|---|---|---|---|";
  for (size_t i = 0; i < kNfes.size(); ++i) std::cout << "---|";
  std::cout << "\n";
  std::vector<flowmatch::LineSeries> series;
  for (const auto& m : methods) {
    const auto& e = results[m.name];
    char head[160];
    std::snprintf(head, sizeof head, "| %s | %.0f | %.3g | %.3g |", m.name.c_str(), e["seconds"].get<double>(),
                  e["straightness"].get<double>(), e["curvature"].get<double>());
    std::cout << head;
    flowmatch::LineSeries line{m.name, {}, {}};
    for (int nfe : kNfes) {
      const auto& at = e["nfe"][std::to_string(nfe)];
      char cell[64];
      if (at.contains("on_cell_fraction"))
        std::snprintf(cell, sizeof cell, " %.3f / %.4f |", at["on_cell_fraction"].get<double>(), at["energy_distance"].get<double>());
      else
        std::snprintf(cell, sizeof cell, " %.4f |", at["energy_distance"].get<double>());
      std::cout << cell;
      line.x.push_back(nfe);
      line.y.push_back(std::max(at["energy_distance"].get<double>(), 1e-5));
    }
    std::cout << "\n";
    series.push_back(line);
  }
  flowmatch::draw_line_chart_png(out + "/straight-" + task + ".png", series,
                                 "energy distance to " + target + " against NFE (" + task + ")", "NFE",
                                 "energy distance (log scale)", true, true);
  return 0;
}

// End-to-end runs of the flowmatch binary: quality moves the right way on a tiny budget, and bad
// input fails with a clear message, a non-zero exit and no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>
#include <tuple>

#include "cli/run_command.h"

namespace {
namespace fs = std::filesystem;

using cli_test::flowmatch;
using cli_test::flowmatch_each;
using cli_test::Result;
using cli_test::shell;

std::string read_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "key: value" lines of a report.
std::map<std::string, std::string> report_of(const std::string& output) {
  std::map<std::string, std::string> values;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(": ");
    if (colon != std::string::npos) values[line.substr(0, colon)] = line.substr(colon + 2);
  }
  return values;
}

// A float32 (or int64) .npy of the given shape, written the way NumPy does.
template <typename T>
void write_npy(const std::string& file, const std::vector<int64_t>& shape, const std::vector<T>& values) {
  std::string dims;
  for (int64_t size : shape) dims += std::to_string(size) + ", ";
  std::string header = std::string("{'descr': '") + (sizeof(T) == 4 ? "<f4" : "<i8") + "', 'fortran_order': False, 'shape': (" +
                       dims + "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(file, std::ios::binary);
  uint16_t length = uint16_t(header.size());
  out.write("\x93NUMPY\x01\x00", 8);  // magic, version 1.0
  out.write(reinterpret_cast<const char*>(&length), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(T)));
}

// The values of a .npy that flowmatch wrote (any shape), float32 or (log-densities) float64.
template <typename T>
std::vector<T> read_npy_values(const std::string& file) {
  std::string bytes = read_bytes(file);
  size_t data = bytes.find('\n') + 1;
  std::vector<T> values((bytes.size() - data) / sizeof(T));
  std::memcpy(values.data(), bytes.data() + data, values.size() * sizeof(T));
  return values;
}
std::vector<float> read_npy_floats(const std::string& file) { return read_npy_values<float>(file); }

// The numbers of a report's JSON array, "[1.5,-2,3e-4]".
std::vector<double> numbers_of(const std::string& array) {
  std::vector<double> numbers;
  std::istringstream items(array.substr(1, array.size() - 2));
  for (std::string item; std::getline(items, item, ',');) numbers.push_back(std::stod(item));
  return numbers;
}

// IDX files as Fashion-MNIST ships them: big-endian magic (0, 0, 8 = uint8, dimensions), sizes, bytes.
void write_idx(const std::string& file, const std::vector<uint32_t>& shape, const std::vector<uint8_t>& values) {
  std::ofstream out(file, std::ios::binary);
  out << '\0' << '\0' << '\x08' << char(shape.size());
  for (uint32_t size : shape)
    for (int shift : {24, 16, 8, 0}) out << char((size >> shift) & 0xff);
  out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size()));
}

// A command line that must fail: its message, and the output (relative to the test folder, or "")
// that must not exist afterwards.
struct BadInput {
  std::string args, message, output;
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "flowmatch-cli-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }
  // `r`, the run of `c`, said c.message, did not crash, and wrote nothing at c.output (the caller
  // checks the exit status).
  void expect_refused(const BadInput& c, const Result& r) const {
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(r.output.find("terminate called"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("Sanitizer"), std::string::npos) << r.output;  // under scripts/sanitized-tests.sh
    if (!c.output.empty()) EXPECT_FALSE(fs::exists(path(c.output))) << c.args;
  }
  // Runs every case (several at once: a refused command writes nothing) and expects each refused
  // with a non-zero status (`status` when it is not 0).
  void expect_each_refused(const std::vector<BadInput>& cases, int status = 0) const {
    std::vector<std::string> commands;
    for (const auto& c : cases) commands.push_back(c.args);
    std::vector<Result> results = flowmatch_each(commands);
    for (size_t i = 0; i < cases.size(); ++i) {
      if (status != 0) EXPECT_EQ(results[i].exit_code, status) << cases[i].args << "\n" << results[i].output;
      EXPECT_NE(results[i].exit_code, 0) << cases[i].args;
      expect_refused(cases[i], results[i]);
    }
  }

  // Trains a small model on the checkerboard; returns the run folder.
  std::string train(const std::string& name, int steps) {
    Result run = flowmatch("train --data checkerboard --out " + path(name) + " --steps " + std::to_string(steps) +
                        " --batch 256 --lr 2e-3 --width 128 --depth 2 --log-every 50 --seed 3");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    return path(name);
  }
  double on_cell_fraction(const std::string& run_dir, const std::string& samples) {
    Result sample = flowmatch("sample " + run_dir + " --n 2000 --solver rk4 --steps 10 --out " + samples);
    EXPECT_EQ(sample.exit_code, 0) << sample.output;
    EXPECT_EQ(report_of(sample.output)["nfe"], "40");
    Result eval = flowmatch("eval " + samples + " --target checkerboard");
    EXPECT_EQ(eval.exit_code, 0) << eval.output;
    return std::stod(report_of(eval.output).at("on_cell_fraction"));
  }

  std::string dir_;
};

TEST_F(Cli, TrainingRaisesTheOnCellFractionWellAboveUntrained) {
  double untrained = on_cell_fraction(train("untrained", 1), path("untrained.npy"));
  std::string run = train("trained", 400);
  double trained = on_cell_fraction(run, path("trained.csv"));
  EXPECT_GT(trained, untrained + 0.2) << "untrained " << untrained << ", trained " << trained;
  EXPECT_GT(trained, 0.75);
  for (const char* file : {"model.safetensors", "config.toml", "metrics.jsonl", "loss.png"})
    EXPECT_TRUE(fs::exists(run + "/" + file)) << file;
  // metrics.jsonl: one JSON object per log line, 400 / 50 of them.
  std::ifstream metrics(run + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(lines, 8);

  Result straight = flowmatch("eval --flow " + run + " --straightness-n 200 --straightness-steps 20");
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  EXPECT_GT(std::stod(report_of(straight.output).at("straightness")), 0.0);
}

// The demo as a user runs it: default recipe, 5000 samples, at least as good as the seed's recipe
// (on-cell 0.92, energy distance 0.0027 at 1000 Euler steps), with every promised file written.
// The default recipe at half its length (its cosine schedule spans the steps given) already beats
// the seed's (on-cell 0.931, energy distance 0.0100, docs/design.md): measured on-cell 0.942 and
// energy distance -0.0007 at 4000 steps, as at 8000. The full 8000 take 4 to 8 minutes here.
TEST_F(Cli, DemoBeatsTheSeedRecipe) {
  Result demo = flowmatch("demo --out " + path("demo") + " --steps 4000");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  auto report = report_of(demo.output);
  EXPECT_GE(std::stod(report.at("on_cell_fraction")), 0.92) << demo.output;
  EXPECT_LE(std::stod(report.at("energy_distance")), 0.0027) << demo.output;
  EXPECT_EQ(report.at("n"), "5000");
  for (const char* file : {"model.safetensors", "config.toml", "metrics.jsonl", "loss.png", "samples.npy", "samples.png",
                           "trajectories.png", "eval.json"})
    EXPECT_TRUE(fs::exists(path("demo/") + file)) << file;
  // Run again into the same folder: the demo replaces its own output.
  EXPECT_EQ(flowmatch("demo --out " + path("demo") + " --steps 5 --n 100").exit_code, 0);
}

TEST_F(Cli, SameSeedGivesTheSameBytes) {
  std::string run = train("run", 20);
  for (const char* name : {"a.npy", "b.npy"})
    ASSERT_EQ(flowmatch("sample " + run + " --n 300 --solver heun --steps 4 --seed 9 --out " + path(name)).exit_code, 0);
  std::ifstream a(path("a.npy"), std::ios::binary), b(path("b.npy"), std::ios::binary);
  std::string bytes_a((std::istreambuf_iterator<char>(a)), {}), bytes_b((std::istreambuf_iterator<char>(b)), {});
  EXPECT_EQ(bytes_a, bytes_b);
  EXPECT_GT(bytes_a.size(), 300u * 2 * 4);
}

TEST_F(Cli, ConfigFileSetsOptionsAndTheResolvedConfigReruns) {
  write("run.toml", "data = \"moons\"\nsteps = 7\nbatch = 32\nwidth = 16\ndepth = 1\n");
  Result run = flowmatch("train --config " + path("run.toml") + " --out " + path("a"));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("on moons"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("for 7 steps of batch 32"), std::string::npos) << run.output;
  std::ifstream resolved(path("a/config.toml"));
  std::string text((std::istreambuf_iterator<char>(resolved)), {});
  EXPECT_NE(text.find("width=16"), std::string::npos) << text;
  EXPECT_NE(text.find("time-dim=128"), std::string::npos) << text;  // defaults resolved, not left out
  // The saved config reruns; the command line overrides it.
  Result again = flowmatch("train --config " + path("a/config.toml") + " --out " + path("b") + " --steps 3");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("on moons"), std::string::npos);
  EXPECT_NE(again.output.find("for 3 steps"), std::string::npos);
}

TEST_F(Cli, TrainsOnAnyDimensionFromAFileAndSamplesGivenNoise) {
  std::string rows;
  for (int i = 0; i < 64; ++i) rows += std::to_string(i % 7) + "," + std::to_string(-i % 5) + "," + std::to_string(i % 3) + "\n";
  write("points.csv", rows);
  Result run = flowmatch("train --data " + path("points.csv") + " --out " + path("r") + " --steps 5 --batch 16 --width 16");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Result sample = flowmatch("sample " + path("r") + " --noise " + path("points.csv") + " --solver dopri5 --out " +
                         path("s.npy") + " --trajectory " + path("t.npy") + " --png " + path("s.png") +
                         " --trajectory-png " + path("t.png"));
  ASSERT_EQ(sample.exit_code, 0) << sample.output;
  for (const char* file : {"s.npy", "t.npy", "t.times.npy", "s.png", "t.png"}) EXPECT_TRUE(fs::exists(path(file))) << file;
  Result eval = flowmatch("eval " + path("s.npy") + " --target " + path("points.csv"));
  ASSERT_EQ(eval.exit_code, 0) << eval.output;
  EXPECT_EQ(report_of(eval.output)["n"], "64");
}

// Likelihoods from the command line: a trained model scores Gaussian data far better than an
// untrained one, every output is written, and sampling reports the density of its own samples.
TEST_F(Cli, LikelihoodImprovesWithTrainingAndWritesItsOutputs) {
  auto excess_after = [&](const std::string& name, int steps) {
    Result run = flowmatch("train --data gaussian --out " + path(name) + " --steps " + std::to_string(steps) +
                           " --batch 256 --width 64 --depth 2 --log-every 100");
    EXPECT_EQ(run.exit_code, 0) << run.output;
    Result scored = flowmatch("likelihood " + path(name) + " --data gaussian --n 500 --out " + path(name + ".npy"));
    EXPECT_EQ(scored.exit_code, 0) << scored.output;
    auto report = report_of(scored.output);
    EXPECT_NEAR(std::stod(report.at("data_nll_nats")), 1.855, 0.15);  // the Gaussian's entropy, estimated
    EXPECT_GT(std::stod(report.at("bits_per_dim")), 0.0);
    return std::stod(report.at("excess_nats"));
  };
  double untrained = excess_after("untrained", 1), trained = excess_after("trained", 400);
  EXPECT_GT(untrained, 0.5);
  EXPECT_LT(trained, 0.15) << "untrained " << untrained;
  EXPECT_EQ(fs::file_size(path("trained.npy")), 128u + 500 * 8);  // .npy header + float64 per point

  Result hutchinson = flowmatch("likelihood " + path("trained") + " --data gaussian --n 300 --divergence hutchinson "
                                "--probes 2 --probe gaussian --solver rk4 --steps 20 --float64 --png " + path("d.png") +
                                " --grid 24 --json " + path("l.json"));
  ASSERT_EQ(hutchinson.exit_code, 0) << hutchinson.output;
  EXPECT_EQ(report_of(hutchinson.output).at("divergence"), "hutchinson, 2 gaussian probes");
  EXPECT_EQ(report_of(hutchinson.output).at("dtype"), "float64");
  EXPECT_TRUE(fs::exists(path("d.png")) && fs::exists(path("l.json")));

  Result sample = flowmatch("sample " + path("trained") + " --n 400 --solver dopri5 --out " + path("s.npy") + " --logp " +
                            path("s.logp.npy"));
  ASSERT_EQ(sample.exit_code, 0) << sample.output;
  EXPECT_NEAR(std::stod(report_of(sample.output).at("nll_nats")), 1.855, 0.3);
  EXPECT_EQ(fs::file_size(path("s.logp.npy")), 128u + 400 * 8);

  // The native engine (auto's choice for this mlp) and LibTorch's agree, in samples and in
  // log-densities (whose divergence the native engine's input gradient gives).
  std::map<std::string, std::vector<double>> samples, densities;
  for (std::string engine : {"native", "torch"}) {
    Result drawn = flowmatch("sample " + path("trained") + " --n 300 --solver rk4 --steps 10 --seed 4 --engine " + engine +
                             " --out " + path(engine + ".npy"));
    ASSERT_EQ(drawn.exit_code, 0) << drawn.output;
    EXPECT_EQ(report_of(drawn.output).at("engine"), engine);
    Result scored = flowmatch("likelihood " + path("trained") + " --data gaussian --n 200 --solver rk4 --steps 10 --seed 4 --engine " +
                              engine + " --out " + path(engine + ".logp.npy"));
    ASSERT_EQ(scored.exit_code, 0) << scored.output;
    EXPECT_EQ(report_of(scored.output).at("engine"), engine);
    for (float value : read_npy_floats(path(engine + ".npy"))) samples[engine].push_back(value);
    densities[engine] = read_npy_values<double>(path(engine + ".logp.npy"));
  }
  for (auto* values : {&samples, &densities}) {
    auto& native = (*values)["native"];
    auto& torch = (*values)["torch"];
    ASSERT_EQ(native.size(), torch.size());
    for (size_t i = 0; i < native.size(); ++i) EXPECT_NEAR(native[i], torch[i], 1e-4 * (1 + std::abs(torch[i]))) << i;
  }
  EXPECT_EQ(report_of(flowmatch("sample " + path("trained") + " --n 10 --out " + path("x.npy")).output).at("engine"), "native");
  Result doubled = flowmatch("likelihood " + path("trained") + " --data gaussian --n 10 --float64 --engine native");
  EXPECT_EQ(doubled.exit_code, 1);
  EXPECT_NE(doubled.output.find("in float64 (--float64): use --engine torch or auto"), std::string::npos) << doubled.output;
}

// Each bad input: non-zero exit, a message naming the problem, and no output file.
// A likelihood run stopped by SIGINT exits 130 at once, and --out keeps the log-densities of the
// batches it finished: the first rows of an unstopped run's.
TEST_F(Cli, StoppedLikelihoodKeepsItsFinishedBatches) {
  std::string run = train("run", 100);
  const std::string args = "likelihood " + run + " --data moons --n 600 --batch 150 --threads 1 --out ";
  auto start = std::chrono::steady_clock::now();
  Result whole = flowmatch(args + path("whole.npy"));
  double whole_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  Result stopped = shell("timeout --preserve-status -s INT " + std::to_string(0.6 * whole_seconds) + " " + FLOWMATCH_BIN +
                         " " + args + path("part.npy"));
  ASSERT_EQ(stopped.exit_code, 130) << stopped.output;
  ASSERT_NE(stopped.output.find("stopped after "), std::string::npos) << stopped.output;
  if (!fs::exists(path("part.npy"))) {  // stopped in its first batch: nothing to keep, and nothing written
    EXPECT_NE(stopped.output.find("stopped after 0 of 600 points"), std::string::npos) << stopped.output;
    return;
  }
  std::vector<double> part = read_npy_values<double>(path("part.npy")), all = read_npy_values<double>(path("whole.npy"));
  EXPECT_EQ(part.size() % 150, 0u);
  EXPECT_LT(part.size(), all.size());
  EXPECT_NE(stopped.output.find("holds the log-densities of the first " + std::to_string(part.size())), std::string::npos);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), all.begin()));
}

// Straighter paths, by three routes, on 8gaussians: the ot coupling, reflow, and distillation.
TEST_F(Cli, OtCouplingReflowAndDistillationStraightenPaths) {
  const std::string small = " --data 8gaussians --steps 400 --batch 256 --lr 2e-3 --width 128 --depth 2 --seed 1";
  auto report = [&](const std::string& args) {
    Result r = flowmatch(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.output;
    return report_of(r.output);
  };
  auto straightness = [&](const std::string& run) {
    return std::stod(report("eval --flow " + run + " --straightness-n 1000 --straightness-steps 50")["straightness"]);
  };
  // Energy distance to 8gaussians of 2000 samples from a model's default sampler or `sampler`.
  auto energy = [&](const std::string& run, const std::string& sampler, const std::string& expect_nfe) {
    auto s = report("sample " + run + " --n 2000 --overwrite --out " + path("s.npy") + sampler);
    EXPECT_EQ(s["nfe"], expect_nfe) << run;
    return std::stod(report("eval " + path("s.npy") + " --target 8gaussians")["energy_distance"]);
  };
  report("train --out " + path("independent") + small);
  report("train --out " + path("ot") + small + " --coupling ot");
  double independent = straightness(path("independent")), ot = straightness(path("ot"));
  EXPECT_LT(ot, 0.5 * independent) << "ot " << ot << ", independent " << independent;

  auto reflowed = report("reflow " + path("independent") + " --out " + path("r2") +
                         " --pairs 4000 --pair-steps 16 --steps 400 --batch 256");
  EXPECT_EQ(reflowed["rectification"], "2");
  EXPECT_EQ(reflowed["pair_nfe"], "64");
  EXPECT_TRUE(fs::exists(path("r2/pairs.safetensors")));
  double rectified = straightness(path("r2"));
  EXPECT_LT(rectified, 0.5 * independent) << "2-rectified " << rectified << ", independent " << independent;
  EXPECT_NEAR(std::stod(reflowed["straightness"]), rectified, 0.5 * rectified);  // its own report, other points

  // Stored pairs are reused: a 3-rectified flow trained on the same pairs file.
  Result again = flowmatch("reflow " + path("r2") + " --out " + path("r3") + " --pairs-file " + path("r2/pairs.safetensors") +
                           " --steps 50 --batch 256");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("reusing 4000 pairs"), std::string::npos) << again.output;
  EXPECT_EQ(report_of(again.output)["rectification"], "3");

  // A one-step generator beats one Euler step of the flow it came from.
  auto distilled = report("distill " + path("r2") + " --steps-out 1 --out " + path("d1") +
                          " --pairs 4000 --pair-steps 16 --steps 400 --batch 256");
  EXPECT_EQ(distilled["sampler"], "euler, 1 step");
  double one_step = energy(path("d1"), "", "1");  // its default sampler is one Euler step
  double flow_one_step = energy(path("independent"), " --solver euler --steps 1", "1");
  EXPECT_LT(one_step, 0.5 * flow_one_step) << "distilled " << one_step << ", flow " << flow_one_step;
}

// A MeanFlow model trained from moons to 8gaussians: one jump by default, from its own source.
TEST_F(Cli, MeanFlowJumpsFromItsSourceInOneEvaluation) {
  Result train = flowmatch("train --data 8gaussians --source moons --objective meanflow --out " + path("mf") +
                           " --steps 400 --batch 256 --lr 2e-3 --width 128 --depth 2 --seed 2");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  Result sample = flowmatch("sample " + path("mf") + " --n 2000 --out " + path("mf.npy"));
  ASSERT_EQ(sample.exit_code, 0) << sample.output;
  EXPECT_EQ(report_of(sample.output)["solver"], "jump");
  EXPECT_EQ(report_of(sample.output)["nfe"], "1");
  auto energy_to = [&](const std::string& samples, const std::string& target) {
    Result eval = flowmatch("eval " + samples + " --target " + target);
    EXPECT_EQ(eval.exit_code, 0) << eval.output;
    return std::stod(report_of(eval.output).at("energy_distance"));
  };
  // One Euler step of the instantaneous field u(x, t, t) from the same model, for contrast.
  Result euler = flowmatch("sample " + path("mf") + " --n 2000 --solver euler --steps 1 --out " + path("euler.npy"));
  ASSERT_EQ(euler.exit_code, 0) << euler.output;
  double jump = energy_to(path("mf.npy"), "8gaussians"), one_euler_step = energy_to(path("euler.npy"), "8gaussians");
  EXPECT_LT(jump, 0.15);  // measured 0.082
  EXPECT_LT(jump, 0.2 * one_euler_step) << "jump " << jump << ", one Euler step " << one_euler_step;  // measured 1.40
  EXPECT_LT(jump, 0.5 * energy_to(path("mf.npy"), "moons")) << "the jump should land nearer 8gaussians than moons";
  Result paths = flowmatch("eval --flow " + path("mf") + " --straightness-n 500");
  ASSERT_EQ(paths.exit_code, 0) << paths.output;
  EXPECT_NE(report_of(paths.output).count("curvature"), 0u) << paths.output;
  // Log-densities need a flow from N(0, I), and reflow takes flows, not one-step models.
  Result likelihood = flowmatch("likelihood " + path("mf") + " --data 8gaussians --n 10");
  EXPECT_NE(likelihood.output.find("starts its flow from moons"), std::string::npos) << likelihood.output;
  Result reflow = flowmatch("reflow " + path("mf") + " --out " + path("r"));
  EXPECT_NE(reflow.output.find("is a MeanFlow model"), std::string::npos) << reflow.output;
  EXPECT_FALSE(fs::exists(path("r")));
}

// A run killed at a random moment and resumed ends with the same bytes as one never interrupted:
// by SIGKILL (the last checkpoint is all there is) and by SIGTERM (the state is saved on the way out).
TEST_F(Cli, StoppedRunsResumeToTheSameBytes) {
  std::random_device entropy;
  // On each engine: SIGKILL on the native one, SIGTERM on LibTorch's.
  for (auto [engine, signal] : {std::pair<std::string, std::string>{"native", "KILL"}, {"torch", "TERM"}}) {
    SCOPED_TRACE("--engine " + engine);
    const std::string run = "train --data checkerboard --steps 6000 --batch 128 --width 64 --depth 1 --log-every 50 "
                            "--seed 4 --threads 1 --checkpoint-every 25 --engine " + engine + " --out ";
    auto start = std::chrono::steady_clock::now();
    Result whole = flowmatch(run + path("whole-" + engine));
    double whole_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(whole.exit_code, 0) << whole.output;
    std::string expected = read_bytes(path("whole-" + engine + "/model.safetensors"));
    // A random moment in the middle half of the run, as long as this machine takes for it (about
    // 6 s here, a minute under the sanitizers on a busy machine).
    double delay = std::uniform_real_distribution<double>(0.25, 0.75)(entropy) * whole_seconds;
    std::string dir = path("stopped-" + signal);
    Result stopped = shell("timeout -s " + signal + " " + std::to_string(delay) + " " + FLOWMATCH_BIN + " " + run + dir);
    ASSERT_EQ(stopped.exit_code, signal == "KILL" ? 137 : 124) << "not stopped after " << delay << " s\n" << stopped.output;
    if (signal == "TERM") EXPECT_NE(stopped.output.find("SIGTERM received: stopped after step"), std::string::npos) << stopped.output;
    EXPECT_NE(read_bytes(dir + "/config.toml").find("engine=\"" + engine + "\""), std::string::npos);  // kept by --resume
    Result resumed = flowmatch("train --resume " + dir + " --threads 1");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
    EXPECT_NE(resumed.output.find("resuming at step "), std::string::npos) << resumed.output;
    EXPECT_EQ(read_bytes(dir + "/model.safetensors"), expected) << "SIG" << signal << " after " << delay << " s";
    std::string metrics = read_bytes(dir + "/metrics.jsonl");
    EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 6000 / 50);  // cut back to the state's step, then continued
    std::istringstream lines(metrics);  // elapsed_s counts on across the stop
    double previous = 0;
    for (std::string line; std::getline(lines, line);) {
      double elapsed = std::stod(line.substr(line.find("\"elapsed_s\":") + 12));
      EXPECT_GE(elapsed, previous) << line;
      previous = elapsed;
    }
  }
  // A run that has taken all its steps has nothing to resume: it says so and leaves its files alone.
  auto written = fs::last_write_time(path("whole-native/model.safetensors"));
  std::string bytes = read_bytes(path("whole-native/model.safetensors"));
  Result again = flowmatch("train --resume " + path("whole-native") + " --threads 1");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("finished at step 6000 of 6000; nothing to resume"), std::string::npos) << again.output;
  EXPECT_EQ(fs::last_write_time(path("whole-native/model.safetensors")), written);
  EXPECT_EQ(read_bytes(path("whole-native/model.safetensors")), bytes);
}

// reflow and distill, stopped by SIGINT or SIGKILL at a random moment after their first pair batch
// (in the pairs or in training), resume to the bytes of a run never stopped, and rerun from their
// config.toml; SIGINT exits 130 with a hint that works.
TEST_F(Cli, StoppedReflowAndDistillResumeToTheSameBytesAndRerunFromTheirConfig) {
  Result base = flowmatch("train --data moons --steps 300 --width 64 --depth 1 --threads 1 --out " + path("base"));
  ASSERT_EQ(base.exit_code, 0) << base.output;
  std::random_device entropy;
  for (std::string command : {"reflow", "distill --steps-out 2"}) {
    const std::string name = command.substr(0, command.find(' '));
    const std::string run = command + " " + path("base") + " --pairs 6000 --pair-batch 250 --steps 250 --checkpoint-every 40 " +
                            "--threads 1 --out ";
    auto start = std::chrono::steady_clock::now();
    Result whole = flowmatch(run + path(name));
    double whole_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(whole.exit_code, 0) << whole.output;
    for (std::string signal : {"INT", "KILL"}) {
      const std::string dir = path(name + "-" + signal);
      // Within the first 40 % of the run's time after its first pair batch (start-up takes some of it).
      double delay = std::uniform_real_distribution<double>(0.0, 0.4)(entropy) * whole_seconds;
      // (A background job of sh starts with SIGINT ignored; flowmatch's own handler catches it.)
      Result stopped = shell("(" + std::string(FLOWMATCH_BIN) + " " + run + dir + " & pid=$!; " +
                             "while [ ! -e " + dir + "/pairs.safetensors ] && kill -0 $pid; do sleep 0.02; done; sleep " +
                             std::to_string(delay) + "; kill -" + signal + " $pid; wait $pid)");
      if (signal == "INT") {
        ASSERT_EQ(stopped.exit_code, 130) << delay << " s after the first pairs\n" << stopped.output;
        EXPECT_NE(stopped.output.find("; continue with flowmatch " + name + " --resume " + dir), std::string::npos) << stopped.output;
      } else {
        ASSERT_EQ(stopped.exit_code, 137) << delay << " s after the first pairs\n" << stopped.output;
      }
      Result resumed = flowmatch(name + " --resume " + dir + " --threads 1");
      ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
      for (const char* file : {"/pairs.safetensors", "/model.safetensors"})
        EXPECT_EQ(read_bytes(dir + file), read_bytes(path(name) + file)) << name << " SIG" << signal << " after " << delay << " s";
    }
    const std::string model_bytes = read_bytes(path(name + "/model.safetensors"));
    Result finished = flowmatch(name + " --resume " + path(name) + " --threads 1");  // nothing left to do
    EXPECT_EQ(finished.exit_code, 0) << finished.output;
    EXPECT_NE(finished.output.find("finished at step 250 of 250; nothing to resume"), std::string::npos) << finished.output;
    EXPECT_EQ(read_bytes(path(name + "/model.safetensors")), model_bytes);
    Result train_resume = flowmatch("train --resume " + path(name));
    EXPECT_NE(train_resume.output.find("is a run of flowmatch " + name + ": continue it with flowmatch " + name + " --resume"),
              std::string::npos) << train_resume.output;
    Result rerun = flowmatch(name + " --config " + path(name + "/config.toml") + " --out " + path(name + "-rerun"));
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    EXPECT_EQ(read_bytes(path(name + "-rerun/model.safetensors")), read_bytes(path(name + "/model.safetensors")));
  }
}

// One writer per run folder: a second train into a folder being written is refused and leaves the
// first run's files as they were; sample says the folder is being written and which step its
// weights are from; the lock of a killed run is taken over.
TEST_F(Cli, RunFoldersHaveOneWriterAndAKilledWritersLockIsTakenOver) {
  const std::string dir = path("busy");
  Result started = shell(std::string(FLOWMATCH_BIN) + " train --data checkerboard --steps 1000000 --width 32 --depth 1 " +
                         "--threads 1 --checkpoint-every 20 --out " + dir + " > " + path("busy.log") + " 2>&1 & echo $!");
  ASSERT_EQ(started.exit_code, 0);
  const std::string pid = started.output.substr(0, started.output.find('\n'));
  auto waited = std::chrono::steady_clock::now();
  while (!fs::exists(dir + "/model.safetensors") && std::chrono::steady_clock::now() - waited < std::chrono::minutes(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors")) << read_bytes(path("busy.log"));
  const std::string config = read_bytes(dir + "/config.toml");

  Result second = flowmatch("train --data moons --steps 5 --overwrite --out " + dir);
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.output.find(dir + " is being written by process " + pid), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("train --data checkerboard"), std::string::npos) << second.output;  // the holder's command
  EXPECT_EQ(read_bytes(dir + "/config.toml"), config);
  Result sample = flowmatch("sample " + dir + " --n 10 --out " + path("s.npy"));
  EXPECT_EQ(sample.exit_code, 0) << sample.output;
  EXPECT_NE(sample.output.find("note: " + dir + " is still being written by process " + pid), std::string::npos) << sample.output;
  EXPECT_NE(sample.output.find("sampling the weights saved at training step "), std::string::npos) << sample.output;

  ASSERT_EQ(shell("kill -KILL " + pid).exit_code, 0);
  while (fs::exists("/proc/" + pid + "/fd"))  // gone, or a zombie whose files are closed
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Result after = flowmatch("train --data moons --steps 5 --overwrite --out " + dir);
  EXPECT_EQ(after.exit_code, 0) << after.output;
  EXPECT_NE(after.output.find("note: taking over " + dir + " from process " + pid), std::string::npos) << after.output;
  EXPECT_EQ(read_bytes(dir + "/.lock"), "");  // a run that ends normally leaves nothing to take over
  EXPECT_EQ(flowmatch("train --data moons --steps 5 --overwrite --out " + dir).output.find("taking over"), std::string::npos);
}

// A huge learning rate overflows at step 2; the checkpoint of step 1 stays, and resuming from it
// meets the same overflow again.
TEST_F(Cli, DivergenceStopsAndKeepsTheLastCheckpoint) {
  const std::string dir = path("diverging");
  Result run = flowmatch("train --data checkerboard --out " + dir + " --lr 1e9 --grad-clip 0 --warmup 0 --steps 200 "
                         "--width 32 --depth 1 --checkpoint-every 1");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("training diverged at step 2"), std::string::npos) << run.output;
  EXPECT_NE(read_bytes(dir + "/model.safetensors").find("\"step\":\"1\""), std::string::npos);
  Result resumed = flowmatch("train --resume " + dir);
  EXPECT_EQ(resumed.exit_code, 1);
  EXPECT_NE(resumed.output.find("training diverged at step 2"), std::string::npos) << resumed.output;
}

// Disk trouble. Training writes its config and log, then fails on the first checkpoint with the
// reason; no file is left under a final name half-written, and no temporary file stays behind.
class DiskTrouble : public Cli {
 protected:
  std::string train_into(const std::string& dir) {
    return std::string(FLOWMATCH_BIN) + " train --data checkerboard --steps 30 --batch 64 --width 256 --depth 3 " +
           "--log-every 10 --out " + dir;
  }
  // Trains into disk/run in a private mount namespace with a 64 KiB tmpfs (mounted with `options`)
  // at path("disk"); the output ends with the exit code and, after "files:", the listing of
  // disk/run. Exits 77 where mounting is not allowed.
  Result train_on_small_disk(const std::string& options) {
    fs::create_directory(path("disk"));
    return shell("unshare -m sh -c 'mount -t tmpfs -o size=64k," + options + " tmpfs " + path("disk") + " || exit 77; " +
                 train_into(path("disk/run")) + "; echo exit=$?; echo files: $(ls -A " + path("disk/run") + ")'");
  }
  void expect_no_half_written_file(const std::string& listing) {
    EXPECT_EQ(listing.find("model.safetensors"), std::string::npos) << listing;
    EXPECT_EQ(listing.find(".tmp"), std::string::npos) << listing;
  }
};

TEST_F(DiskTrouble, AFullDiskFailsWithTheReason) {
  Result full = train_on_small_disk("rw");
  if (full.exit_code == 77) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN): " << full.output;
  EXPECT_NE(full.output.find("error: cannot write " + path("disk/run/model.safetensors") + ": No space left on device"),
            std::string::npos) << full.output;
  EXPECT_NE(full.output.find("exit=1"), std::string::npos) << full.output;
  expect_no_half_written_file(full.output.substr(full.output.find("files:")));
}

TEST_F(DiskTrouble, AReadOnlyFolderIsRefusedBeforeTraining) {
  Result read_only = train_on_small_disk("ro");
  if (read_only.exit_code == 77) GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN): " << read_only.output;
  EXPECT_NE(read_only.output.find("error: cannot create run folder " + path("disk/run") + ": Read-only file system"),
            std::string::npos) << read_only.output;
  EXPECT_EQ(read_only.output.find("training "), std::string::npos) << read_only.output;
  EXPECT_NE(read_only.output.find("exit=1"), std::string::npos) << read_only.output;
}

TEST_F(DiskTrouble, AFileSizeLimitFailsWithTheReason) {
  // /bin/sh is dash, whose ulimit -f counts 512-byte blocks: 128 blocks is 64 KiB, far below the
  // model's 0.8 MB.
  Result limited = shell("ulimit -f 128; exec " + train_into(path("run")));
  EXPECT_EQ(limited.exit_code, 1) << limited.output;
  EXPECT_NE(limited.output.find("error: cannot write " + path("run/model.safetensors") + ": File too large"),
            std::string::npos) << limited.output;
  std::string listing;
  for (const auto& entry : fs::directory_iterator(path("run"))) listing += entry.path().filename().string() + " ";
  EXPECT_NE(listing.find("config.toml"), std::string::npos) << listing;
  expect_no_half_written_file(listing);
}

// flowmatch convert: the twin's torch.save files (tests/goldens, from bench/reference/make_goldens.py)
// become weights that sample; a DataParallel copy converts to the same bytes; a pickle that would
// run code is refused and runs none.
TEST_F(Cli, ConvertsTorchSaveStateDictsAndRefusesCode) {
  const std::string goldens = FLOWMATCH_GOLDENS;
  const std::string seed_options = " --model seed-mlp --width 32 --depth 2 --time-dim 32";
  Result plain = flowmatch("convert " + goldens + "/seed-mlp.pt " + path("plain.safetensors") + seed_options);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(report_of(plain.output)["tensors"], "10");
  Result wrapped = flowmatch("convert " + goldens + "/seed-mlp-wrapped.pt " + path("wrapped.safetensors") + seed_options);
  ASSERT_EQ(wrapped.exit_code, 0) << wrapped.output;
  EXPECT_NE(wrapped.output.find("every name starts with 'module.'"), std::string::npos) << wrapped.output;
  for (const std::string name : {"plain", "wrapped"}) {
    Result sample = flowmatch("sample " + path(name + ".safetensors") + " --n 50 --solver euler --steps 10 --out " +
                              path(name + ".npy"));
    ASSERT_EQ(sample.exit_code, 0) << sample.output;
  }
  EXPECT_EQ(read_bytes(path("plain.npy")), read_bytes(path("wrapped.npy")));
  Result checkpoint = flowmatch("convert " + goldens + "/mlp-checkpoint.pt " + path("mlp.safetensors") +
                                " --key model --model mlp --width 32 --depth 2 --time-dim 32 --fourier-features 16");
  EXPECT_EQ(checkpoint.exit_code, 0) << checkpoint.output;
  // The sizes are read from the tensors' shapes when not given: --model alone converts the same bytes.
  for (const auto& [file, options, expected] :
       {std::tuple{"seed-mlp.pt", " --model seed-mlp", "plain"}, std::tuple{"mlp-checkpoint.pt", " --key model --model mlp", "mlp"}}) {
    Result read = flowmatch("convert " + goldens + "/" + file + " " + path("read.safetensors") + " --overwrite" + options);
    ASSERT_EQ(read.exit_code, 0) << read.output;
    EXPECT_EQ(read_bytes(path("read.safetensors")), read_bytes(path(std::string(expected) + ".safetensors"))) << file;
  }

  fs::remove("/tmp/flowmatch-pickle-ran-code");
  write("text.pt", "weights");
  std::vector<BadInput> cases = {
      {"convert " + goldens + "/refused.pt " + path("o.safetensors") + seed_options, "asks for 'posix.system'", "o.safetensors"},
      {"convert " + goldens + "/seed-mlp.pt " + path("o.safetensors"), "--model is required", "o.safetensors"},
      {"convert " + goldens + "/seed-mlp.pt " + path("o.safetensors") + " --model seed-mlp --width 64 --depth 3",
       "of the model's 12 tensors do not fit: 'in_projection.weight' is [32, 2] where the model has [64, 2]; "
       "'in_projection.bias' is [32] where the model has [64]; 't_projection.weight' is [32, 32]", "o.safetensors"},
      {"convert " + goldens + "/seed-mlp.pt " + path("o.safetensors") + " --model mlp --width 32",
       "'in_projection.weight' is [32, 2] where the model has [32, 130]; 'blocks.0.ff1.weight' is missing", "o.safetensors"},
      {"convert " + goldens + "/mlp-checkpoint.pt " + path("o.safetensors") + " --model mlp", "--key", "o.safetensors"},
      {"convert " + path("text.pt") + " " + path("o.safetensors") + seed_options, "is not a torch.save file", "o.safetensors"},
      {"convert " + goldens + "/seed-mlp.pt " + path("o.npy") + seed_options, "OUT must name a .safetensors file", "o.npy"},
      {"convert " + goldens + "/seed-mlp.pt " + path("plain.safetensors") + seed_options, "exists; pass --overwrite", ""},
      {"convert " + goldens + "/seed-mlp.pt " + path("o.safetensors") + " --model unet", "needs --image-shape", "o.safetensors"},
  };
  expect_each_refused(cases, 1);
  EXPECT_FALSE(fs::exists("/tmp/flowmatch-pickle-ran-code"));
}

TEST_F(Cli, BadInputFailsClearlyAndWritesNothing) {
  std::string run = train("run", 2);
  write("nan.csv", "1,2\n3,nan\n");
  write("broken.safetensors", "garbage");
  write("three.csv", "1,2,3\n4,5,6\n");
  write("two.csv", "1,2\n3,4\n");
  write_npy(path("v.npy"), {3, 2}, std::vector<float>(6, 0.0f));
  std::vector<BadInput> cases = {
      {"train --data " + path("missing.npy") + " --out " + path("x"), "missing.npy", "x"},
      {"train --data " + path("nan.csv") + " --out " + path("x"), "NaN", "x"},
      {"train --data checkers --out " + path("x"), "unknown distribution 'checkers'", "x"},
      {"train --data moons --out " + path("x") + " --steps 0", "--steps must be positive", "x"},
      {"train --data moons --out " + path("x") + " --model unet", "--model unet is for images; moons holds points", "x"},
      {"train --data moons --out " + path("x") + " --model transformer", "--model transformer is for token data; moons is not", "x"},
      {"train --data moons --out " + path("x") + " --flip", "are for images; moons holds points", "x"},
      {"train --data fashion-mnist --out " + path("x") + " --coupling ot", "are for points; images always start from N(0, I)", "x"},
      {"train --data fashion-mnist --out " + path("x") + " --model mlp", "--model mlp is for points", "x"},
      {"train --data fashion-mnist --out " + path("x") + " --widths 8,12", "multiple of groups (8), got 12", "x"},
      {"train --data fashion-mnist --out " + path("x") + " --label-dropout 1.5", "--label-dropout must lie in [0, 1]", "x"},
      {"train --data " + path("missing.idx") + " --out " + path("x"), "missing.idx", "x"},
      {"sample " + run + " --class 1 --out " + path("o.npy"), "--class and --cfg are for class-conditional image models", "o.npy"},
      {"fd " + path("three.csv"), "neither a .npy of images nor an image set", ""},
      {"fd " + path("v.npy"), "judges Fashion-MNIST-like images [N >= 2, 1, 28, 28]", ""},
      {"fd fashion-mnist:test --classifier " + path("two.csv") + "/judge.safetensors", "cannot create the cache folder", ""},
      {"train --data moons --out " + path("x") + " --lr -1", "--lr must be positive", "x"},
      {"sample " + run + " --noise " + path("three.csv") + " --out " + path("o.npy"), "3-D points but the model is 2-D", "o.npy"},
      {"sample " + run + " --solver leapfrog --out " + path("o.npy"), "unknown solver 'leapfrog'", "o.npy"},
      {"sample " + run + " --steps 0 --out " + path("o.npy"), "--steps must be positive", "o.npy"},
      {"sample " + run + " --steps -4 --out " + path("o.npy"), "--steps must be positive", "o.npy"},
      {"sample " + run + " --out " + path("no/such/dir/o.npy"), "does not exist", "no"},
      {"sample " + run + " --out " + path("o.txt"), "unknown points format", "o.txt"},
      {"sample " + path("nothing") + " --out " + path("o.npy"), "no such model", "o.npy"},
      {"eval " + path("three.csv") + " --target checkerboard", "3-D but the target checkerboard is 2-D", ""},
      {"likelihood " + run + " --out " + path("l.npy"), "--data is required", "l.npy"},
      {"likelihood " + run + " --data " + path("three.csv") + " --out " + path("l.npy"), "3-D points but the model is 2-D",
       "l.npy"},
      {"likelihood " + run + " --data " + path("nan.csv") + " --out " + path("l.npy"), "NaN", "l.npy"},
      {"likelihood " + run + " --data moons --divergence guess --out " + path("l.npy"), "unknown divergence 'guess'",
       "l.npy"},
      {"likelihood " + run + " --data moons --divergence hutchinson --probes 0 --out " + path("l.npy"),
       "--probes must be at least 1", "l.npy"},
      {"likelihood " + run + " --data moons --probe cauchy --out " + path("l.npy"), "unknown probe 'cauchy'", "l.npy"},
      {"likelihood " + run + " --data moons --out " + path("l.csv"), "--out must name a .npy file", "l.csv"},
      {"likelihood " + run + " --data moons --batch 0 --out " + path("l.npy"), "--batch must be positive", "l.npy"},
      {"sample " + run + " --out " + path("o.npy") + " --logp " + path("lp.csv"), "--logp must name a .npy file", "o.npy"},
      {"sample " + run + " --solver jump --out " + path("o.npy"), "needs a model trained with --objective meanflow", "o.npy"},
      {"train --data moons --out " + path("x") + " --coupling sinkhorn", "unknown coupling 'sinkhorn'", "x"},
      {"train --data moons --source " + path("three.csv") + " --out " + path("x"), "is 3-D but the data moons is 2-D", "x"},
      {"train --data moons --out " + path("x") + " --objective consistency", "unknown objective 'consistency'", "x"},
      {"train --data moons --out " + path("x") + " --objective meanflow --interval-fraction 2", "--interval-fraction", "x"},
      {"train --data moons --out " + path("x") + " --objective meanflow --model seed-mlp", "needs --model mlp", "x"},
      {"distill " + run + " --steps-out 0 --out " + path("x"), "--steps-out must be at least 1", "x"},
      {"reflow " + run + " --out " + run, "must be a new run folder", ""},
      {"reflow " + run + " --out " + path("x") + " --pairs-file " + path("missing.safetensors"), "missing.safetensors", "x"},
      {"reflow " + run + " --out " + path("x") + " --pairs-file " + path("broken.safetensors"), "not a valid safetensors", "x"},
      {"reflow " + run + " --out " + path("x") + " --pair-solver leapfrog", "unknown solver 'leapfrog'", "x"},
      {"reflow " + run + " --out " + path("x") + " --pairs 0", "--pairs and --pair-batch must be positive", "x"},
      {"train --resume " + run + " --steps 5", "only --threads, --nproc or --dist-timeout may be given with it, not --steps", ""},
      {"train --data moons --out " + path("x") + " --shards 3", "--batch 512 does not split into 3 equal shards", "x"},
      {"train --data moons --out " + path("x") + " --shards 1 --nproc 2", "--shards 1 is fewer than the 2 processes", "x"},
      {"train --data moons --out " + path("x") + " --nproc 0", "--nproc", "x"},
      {"train --data moons --out " + path("x") + " --shards -1", "--shards must be >= 0", "x"},
      {"train --data moons --out " + path("x") + " --nproc 2 --dist-timeout 0", "--dist-timeout", "x"},
      {"train --data moons --out " + path("x") + " --nproc 2 --threads 1 --batch 7", "--batch 7 does not split into 2", "x"},
      {"train --resume " + path("x"), "has no training_state.safetensors to resume from", "x"},
      {"sample " + run + " --out " + path("three.csv"), path("three.csv") + " exists; pass --overwrite to replace it", ""},
      {"likelihood " + run + " --data moons --json " + path("three.csv"), "exists; pass --overwrite", ""},
      {"simulate two-moons --n 5 --theta " + path("t.npy") + " --x " + path("v.npy"), "v.npy exists; pass --overwrite", "t.npy"},
      {"eval " + path("two.csv") + " --target checkerboard --json " + path("three.csv"), "exists; pass --overwrite", ""},
      {"sample " + run + " --out " + path("o.npy") + " --png " + path("o.jpg"), "--png must name a .png file, got", "o.npy"},
      {"sample " + run + " --out " + path("o.npy") + " --trajectory-png " + path("t.jpg"), "--trajectory-png must name a .png",
       "o.npy"},
      {"likelihood " + run + " --data moons --png " + path("d.jpg"), "--png must name a .png file", "d.jpg"},
      // Options that would do nothing are refused, not ignored.
      {"sample " + run + " --solver dopri5 --steps 3 --out " + path("o.npy"), "--steps is for fixed-grid solvers; dopri5 picks",
       "o.npy"},
      {"likelihood " + run + " --data moons --solver rk4 --atol 1e-3 --out " + path("l.npy"), "--atol is for dopri5; rk4 takes",
       "l.npy"},
      {"reflow " + run + " --out " + path("x") + " --pair-solver dopri5 --pair-steps 8", "--pair-steps is for fixed-grid", "x"},
      {"train --data moons --out " + path("x") + " --image-size 64", "--image-size and --channels are for images", "x"},
  };
  expect_each_refused(cases);
  EXPECT_EQ(read_bytes(path("three.csv")), "1,2,3\n4,5,6\n");  // refused, not replaced
  EXPECT_EQ(flowmatch("sample " + run + " --n 3 --overwrite --out " + path("three.csv")).exit_code, 0);
  EXPECT_NE(read_bytes(path("three.csv")), "1,2,3\n4,5,6\n");
  // Multi-process jobs set up wrongly through the environment, and one whose other rank never comes.
  const std::string job = "env RANK=1 WORLD_SIZE=2 LOCAL_WORLD_SIZE=1 MASTER_ADDR=127.0.0.1 ";
  std::vector<BadInput> jobs = {
      {"env RANK=0 WORLD_SIZE=2 " + std::string(FLOWMATCH_BIN) + " train --data moons --out " + path("x"), "sets no MASTER_ADDR", "x"},
      {job + "MASTER_PORT=1 " + FLOWMATCH_BIN + " train --data moons --nproc 2", "--nproc starts a job of its own", ""},
      {job + "MASTER_PORT=1 " + FLOWMATCH_BIN + " train --data moons --dist-timeout 2 --out " + path("x"),
       "rank 1 could not join the 2-process job at 127.0.0.1:1 within 2 s", "x"},
  };
  for (const auto& c : jobs) {
    Result r = shell(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    expect_refused(c, r);
  }
  // A corrupt weights file is refused by name.
  Result r = flowmatch("sample " + path("broken.safetensors") + " --out " + path("o.npy"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("broken.safetensors: not a valid safetensors file"), std::string::npos) << r.output;
}

// A malformed command line is one "error:" line, naming the nearest option or command for a near
// miss, and exit status 2 (docs/cli.md); --help and --version exit 0.
TEST_F(Cli, ParseErrorsAreOneErrorLineWithASuggestionAndStatus2) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"train --stpes 10", "error: flowmatch train has no option --stpes; did you mean --steps?"},
      {"train --data moons --standardise", "did you mean --standardize?"},
      {"sample run --sed=4", "error: flowmatch sample has no option --sed; did you mean --seed?"},
      {"sample run --sample-steps 8", "error: flowmatch sample has no option --sample-steps; did you mean --steps?"},
      {"likelihood run --pair-solver rk4", "did you mean --solver?"},
      {"train --frobnicate", "error: flowmatch train has no option --frobnicate (flowmatch train --help lists them)"},
      {"trian --data moons", "error: unknown command 'trian'; did you mean train? (choose train, sample,"},
      {"", "error: a command is required: train, sample,"},
      {"--verison", "error: flowmatch has no option --verison; did you mean --version?"},
      {"train --lr abc", "error: --lr takes a number, not 'abc'"},
      {"train --steps 1.5", "error: --steps takes a whole number, not '1.5'"},
      {"train --threads -1", "error: --threads: Value -1 not in range 0 to 4096"},
      {"sample", "error: model is required (flowmatch sample --help)"},
      {"sample a b c", "error: unexpected arguments 'b c' for flowmatch sample"},
  };
  std::vector<std::string> commands;
  for (const auto& [args, message] : cases) commands.push_back(args);
  std::vector<Result> results = flowmatch_each(commands);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [args, message] = cases[i];
    const Result& r = results[i];
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("error: ", 0), 0u) << args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
  write("typo.toml", "stpes = 10\n");
  Result config = flowmatch("train --config " + path("typo.toml") + " --data moons --out " + path("x"));
  EXPECT_EQ(config.exit_code, 1);
  EXPECT_NE(config.output.find("unknown option 'stpes'; did you mean steps?"), std::string::npos) << config.output;
  EXPECT_FALSE(fs::exists(path("x")));
  Result version = flowmatch("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output.rfind("flowmatch ", 0), 0u) << version.output;
#if defined(__x86_64__) && defined(__GNUC__)
  // OpenBLAS falls back to SSE3 kernels on CPUs it does not know; flowmatch restarts itself with
  // kernels the CPU can run (core/blas_kernels.h), which --version names.
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && version.output.find("OpenBLAS") != std::string::npos)
    EXPECT_TRUE(std::regex_search(version.output, std::regex("kernels: (Haswell|Zen|SkylakeX|Cooperlake|SapphireRapids)")))
        << version.output;
#endif
  EXPECT_EQ(flowmatch("train --help").exit_code, 0);
}

// Images of two classes, 8 x 8: class 0 bright on the left half, class 1 on the right, with noise.
// A conditional unet trained briefly draws each class on its own side, with guidance; the run
// folder holds a grid of samples; image-only mistakes fail by name.
TEST_F(Cli, ConditionalUnetDrawsEachClassOnItsSide) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> jitter(-20, 20);
  std::vector<uint8_t> pixels, labels;
  for (int i = 0; i < 256; ++i) {
    labels.push_back(uint8_t(i % 2));
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) pixels.push_back(uint8_t(((x < 4) == (i % 2 == 0) ? 220 : 35) + jitter(rng)));
  }
  write_idx(path("halves-images.idx"), {256, 8, 8}, pixels);
  write_idx(path("halves-labels.idx"), {256}, labels);
  Result train = flowmatch("train --data " + path("halves-images.idx") + " --labels " + path("halves-labels.idx") +
                           " --out " + path("run") + " --widths 8,16 --steps 300 --batch 32 --lr 2e-3 --warmup 20 --seed 1");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  EXPECT_TRUE(fs::exists(path("run/samples.png")));
  EXPECT_NE(read_bytes(path("run/config.toml")).find("model=\"unet\""), std::string::npos);
  EXPECT_NE(train.output.find("(256 images [1, 8, 8], 2 classes)"), std::string::npos) << train.output;
  // The mean brightness of the left half minus the right half, over all samples of one class.
  auto left_minus_right = [&](const std::string& cls, const std::string& cfg) {
    std::string out = path("class" + cls + "-cfg" + cfg + ".npy");
    Result sample = flowmatch("sample " + path("run") + " --class " + cls + " --cfg " + cfg +
                              " --n 32 --solver midpoint --steps 8 --out " + out + " --png " + path("grid.png") + " --overwrite");
    EXPECT_EQ(sample.exit_code, 0) << sample.output;
    EXPECT_EQ(report_of(sample.output)["nfe"], "16");
    EXPECT_TRUE(fs::exists(path("class" + cls + "-cfg" + cfg + ".labels.npy")));
    std::vector<float> x = read_npy_floats(out);
    EXPECT_EQ(x.size(), 32u * 64u);
    double difference = 0;
    for (size_t i = 0; i < x.size(); ++i) difference += ((i % 8) < 4 ? x[i] : -x[i]) / double(x.size() / 2);
    return difference;
  };
  double left = left_minus_right("0", "1"), right = left_minus_right("1", "1");
  EXPECT_GT(left, 1.0) << "class 0 should be bright on the left";  // the data's is 2 x (220 - 35) / 255 = 1.45
  EXPECT_LT(right, -1.0) << "class 1 should be bright on the right";
  EXPECT_GT(left_minus_right("0", "3"), left) << "guidance should sharpen the class";

  // The run records the engine that trained it: native (the convolutions on oneDNN's Winograd
  // kernels) where the CPU has them, else torch. Sampling on either gives the same images to rounding.
  std::string config = read_bytes(path("run/config.toml"));
  bool native = config.find("engine=\"native\"") != std::string::npos;
  EXPECT_TRUE(native || config.find("engine=\"torch\"") != std::string::npos) << config;
  std::vector<std::vector<float>> by_engine;
  for (std::string engine : {"torch", native ? "native" : "torch"}) {
    Result drawn = flowmatch("sample " + path("run") + " --n 8 --seed 3 --solver midpoint --steps 4 --engine " + engine +
                             " --out " + path("by-" + engine + ".npy") + " --overwrite");
    ASSERT_EQ(drawn.exit_code, 0) << drawn.output;
    EXPECT_EQ(report_of(drawn.output)["engine"], engine);
    by_engine.push_back(read_npy_floats(path("by-" + engine + ".npy")));
  }
  ASSERT_EQ(by_engine[0].size(), by_engine[1].size());
  for (size_t i = 0; i < by_engine[0].size(); ++i) ASSERT_NEAR(by_engine[0][i], by_engine[1][i], 1e-4) << i;

  // Inpainting: 16 images of class 1 (bright on the right, in [-1, 1]) lose their right half and get
  // it back from the model given the left half. The kept half comes back bit for bit; the filled
  // half is bright again, whether the class says so (cfg 1) or only the dark left half does (cfg 0,
  // the unconditional field trained alongside).
  std::vector<float> class1;
  std::vector<int64_t> ones(16, 1);
  for (int i = 0; i < 16; ++i)
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) class1.push_back(((x < 4) ? 35 + jitter(rng) : 220 + jitter(rng)) / 127.5f - 1);
  write_npy(path("class1.npy"), {16, 1, 8, 8}, class1);
  write_npy(path("class1.labels.npy"), {16}, ones);
  write_npy(path("unlabelled.npy"), {16, 1, 8, 8}, class1);
  // The default (Euler along the SDE, 50 NFE) with each guidance, and midpoint with corrections.
  for (std::string settings : {"--cfg 1", "--cfg 0", "--solver midpoint --steps 8 --noise-scale 0 --corrector-steps 2"}) {
    std::string filled = path("filled.npy");
    Result inpainted = flowmatch("inpaint " + path("run") + " --images " + path("class1.npy") + " --mask right-half " + settings +
                                 " --out " + filled + " --png " + path("inpainted.png") + " --overwrite");
    ASSERT_EQ(inpainted.exit_code, 0) << inpainted.output;
    auto report = report_of(inpainted.output);
    const bool midpoint = settings.find("midpoint") != std::string::npos;
    EXPECT_EQ(report["nfe"], midpoint ? "30" : "50") << "midpoint: 8 steps and 2 corrections at each of the 7 inner grid times";
    EXPECT_EQ(report["missing_share"], "0.5");
    EXPECT_TRUE(fs::exists(path("inpainted.png")));
    EXPECT_EQ(read_npy_values<int64_t>(path("filled.labels.npy")), ones);
    std::vector<float> x = read_npy_floats(filled);
    ASSERT_EQ(x.size(), class1.size());
    double right_half = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      if (i % 8 < 4) ASSERT_EQ(x[i], class1[i]) << "kept pixel " << i << " changed";
      else right_half += x[i] / double(x.size() / 2);
    }
    EXPECT_GT(right_half, 0.3) << settings << ": the filled right half should be bright (the data's is 0.73)";
  }

  std::vector<BadInput> cases = {
      {"sample " + path("run") + " --class 2 --out " + path("o.npy"), "unknown class '2': give 0 .. 1", "o.npy"},
      {"sample " + path("run") + " --class left --out " + path("o.npy"), "unknown class 'left'", "o.npy"},
      {"sample " + path("run") + " --out " + path("o.csv"), "--out (images) must name a .npy file", "o.csv"},
      {"sample " + path("run") + " --trajectory " + path("t.npy") + " --out " + path("o.npy"), "--trajectory is for point models", "o.npy"},
      {"sample " + path("run") + " --batch 0 --out " + path("o.npy"), "--batch must be positive", "o.npy"},
      {"train --data " + path("halves-images.idx") + " --labels " + path("three.idx") + " --out " + path("x"), "three.idx", "x"},
      // Image models in commands for points models: refused before anything is written.
      {"reflow " + path("run") + " --out " + path("x"), "reflow is for points models; " + path("run") + " is an image model", "x"},
      {"distill " + path("run") + " --steps-out 1 --out " + path("x"), "distill is for points models", "x"},
      {"eval --model " + path("run"), "eval --flow (path straightness) is for points models", ""},
      {"likelihood " + path("run") + " --data moons --out " + path("l.npy"), "likelihood is for points models", "l.npy"},
      // Inpainting: masks that cannot be meant, and what else it refuses, before writing anything.
      {"inpaint " + path("run") + " --images " + path("class1.npy") + " --mask " + path("class1.labels.npy") + " --out " + path("o.npy"),
       "class1.labels.npy has shape [16]; for 16 images of shape [1, 8, 8] give [8, 8]", "o.npy"},
      {"inpaint " + path("run") + " --images " + path("class1.npy") + " --mask rigth-half --out " + path("o.npy"), "did you mean right-half", "o.npy"},
      {"inpaint " + path("run") + " --images " + path("class1.npy") + " --mask random:2 --out " + path("o.npy"), "must lie in (0, 1)", "o.npy"},
      {"inpaint " + path("run") + " --images " + path("class1.npy") + " --out " + path("o.npy"), "--mask is required", "o.npy"},
      {"inpaint " + path("run") + " --images " + path("halves-images.idx") + " --labels " + path("class1.labels.npy") +
       " --mask center --out " + path("o.npy"), "--labels goes with a .npy of images", "o.npy"},
      {"inpaint " + path("run") + " --images " + path("unlabelled.npy") + " --mask center --out " + path("o.npy"),
       "give --class, or labels with --labels", "o.npy"},
      {"inpaint " + path("run") + " --images " + path("class1.npy") + " --mask center --corrector-size 0 --out " + path("o.npy"), "(0, 1]", "o.npy"},
      {"sample " + path("run") + " --from " + path("class1.npy") + " --strength -0.1 --class 1 --out " + path("o.npy"), "--strength must lie in [0, 1]", "o.npy"},
      {"impute " + path("run") + " --data " + path("class1.npy") + " --out " + path("o.npy"), "impute (inpaint fills images) is for points models", "o.npy"},
  };
  expect_each_refused(cases);
}

// flowmatch fd trains its judge once (cached in --classifier), scores real held-out images at the
// floor with the classifier's own accuracy, and noise far above it, near chance.
TEST_F(Cli, FdSeparatesRealImagesFromNoise) {
  std::string classifier = path("judge.safetensors");
  Result real = flowmatch("fd fashion-mnist:test --classifier " + classifier);
  ASSERT_EQ(real.exit_code, 0) << real.output;
  EXPECT_NE(real.output.find("fd classifier"), std::string::npos) << "the first run trains the classifier";
  EXPECT_NE(real.output.find("fd's first run trains its judge"), std::string::npos) << "and says so before it starts";
  auto report = report_of(real.output);
  EXPECT_GT(std::stod(report.at("class_accuracy")), 0.85);
  EXPECT_EQ(report.at("class_accuracy"), report.at("classifier_test_accuracy"));
  EXPECT_LT(std::stod(report.at("fd")), 1.0);

  std::mt19937 rng(6);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> noise(300 * 28 * 28);
  for (float& v : noise) v = uniform(rng);
  std::vector<int64_t> labels(300);
  for (int i = 0; i < 300; ++i) labels[i] = i % 10;
  write_npy(path("noise.npy"), {300, 1, 28, 28}, noise);
  write_npy(path("noise.labels.npy"), {300}, labels);
  Result judged = flowmatch("fd " + path("noise.npy") + " --classifier " + classifier + " --json " + path("fd.json"));
  ASSERT_EQ(judged.exit_code, 0) << judged.output;
  EXPECT_EQ(judged.output.find("fd classifier "), std::string::npos) << "the second run uses the cached classifier";
  EXPECT_EQ(judged.output.find("first run trains"), std::string::npos);
  report = report_of(judged.output);
  EXPECT_GT(std::stod(report.at("fd")), 10 * std::stod(report.at("floor")));
  EXPECT_LT(std::stod(report.at("class_accuracy")), 0.4);
  EXPECT_EQ(report.at("floor_set"), "fashion-mnist:test (300 images)");
  EXPECT_TRUE(fs::exists(path("fd.json")));
}

}  // namespace

// x = 2 c + noise/2 with c in [-1, 1], 400 rows: x.csv and c.csv, and both in joined.csv (x, c).
struct LinearContextData {
  std::string x_rows, c_rows, joined;
  LinearContextData() {
    std::mt19937 rng(4);
    std::normal_distribution<float> noise(0.0f, 0.5f);
    for (int i = 0; i < 400; ++i) {
      float c = -1.0f + 2.0f * float(i) / 399.0f, x = 2 * c + noise(rng);
      x_rows += std::to_string(x) + "\n";
      c_rows += std::to_string(c) + "\n";
      joined += std::to_string(x) + "," + std::to_string(c) + "\n";
    }
  }
};

// On LinearContextData: a context model trains, samples n per context grouped by context, scores
// log p(x | c), and refuses what does not fit it.
TEST_F(Cli, ContextModelsSampleGivenEachContextAndRefuseWhatDoesNotFit) {
  const auto [x_rows, c_rows, joined] = LinearContextData();
  write("x.csv", x_rows);
  write("c.csv", c_rows);
  write("joined.csv", joined);
  write("c3.csv", "-1\n0\n1\n");
  std::string small = " --steps 60 --log-every 20 --width 32 --depth 1 --seed 1";
  Result trained = flowmatch("train --data " + path("x.csv") + " --context " + path("c.csv") + " --out " + path("run") + small);
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  EXPECT_EQ(report_of(trained.output).count("best_step"), 1u) << trained.output;
  // A context flow this small gets the linear term by default (D (D + C) = 2 <= 256): config.toml
  // says so, and sampling, likelihoods, reflow and distillation below run through it.
  EXPECT_NE(read_bytes(path("run/config.toml")).find("linear-term=true"), std::string::npos);
  Result columns = flowmatch("train --data " + path("joined.csv") + " --context-columns 1:2 --out " + path("columns") + small);
  EXPECT_EQ(columns.exit_code, 0) << columns.output;
  EXPECT_EQ(read_bytes(path("run/model.safetensors")), read_bytes(path("columns/model.safetensors")));

  Result grouped = flowmatch("sample " + path("run") + " --context " + path("c3.csv") + " --n 50 --out " + path("s.npy"));
  ASSERT_EQ(grouped.exit_code, 0) << grouped.output;
  EXPECT_EQ(report_of(grouped.output)["n"], "150");
  EXPECT_EQ(read_npy_floats(path("s.npy")).size(), 150u);
  // The contexts -1 and 1 lie beyond 99 % of the training contexts' z-score norms |c - mean| / std,
  // 0 within: the note names the first two, with the percentile computed here from the rows (linear
  // interpolation between order statistics).
  std::vector<double> c_values;
  std::istringstream c_lines(c_rows);
  for (std::string line; std::getline(c_lines, line);) c_values.push_back(std::stod(line));
  double c_mean = 0, c_var = 0;
  for (double c : c_values) c_mean += c / c_values.size();
  for (double c : c_values) c_var += (c - c_mean) * (c - c_mean) / (c_values.size() - 1);
  std::vector<double> z_norms;
  for (double c : c_values) z_norms.push_back(std::abs(c - c_mean) / std::sqrt(c_var));
  std::sort(z_norms.begin(), z_norms.end());
  double position = 0.99 * (z_norms.size() - 1), below = std::floor(position);
  double reach = z_norms[size_t(below)] + (position - below) * (z_norms[size_t(below) + 1] - z_norms[size_t(below)]);
  auto hundredths = [](double v) {
    std::ostringstream text;
    text << std::round(v * 100) / 100;
    return text.str();
  };
  EXPECT_NE(grouped.output.find("note: context rows 0 (" + hundredths((1 + c_mean) / std::sqrt(c_var)) + "), 2 (" +
                                hundredths((1 - c_mean) / std::sqrt(c_var)) + ") of 3 lie beyond 99 % of the training "
                                "contexts, where the model extrapolates (the norm of a context's z-score; the training "
                                "rows' 99th percentile is " + hundredths(reach) + ")"),
            std::string::npos)
      << grouped.output;
  Result inline_context = flowmatch("sample " + path("run") + " --context-values 1 --n 50 --out " + path("a.npy"));
  Result cfg_one = flowmatch("sample " + path("run") + " --context-values 1 --n 50 --cfg 1 --out " + path("b.npy"));
  ASSERT_EQ(inline_context.exit_code + cfg_one.exit_code, 0) << inline_context.output << cfg_one.output;
  EXPECT_EQ(read_bytes(path("a.npy")), read_bytes(path("b.npy")));  // --cfg 1 is the conditional model
  Result within = flowmatch("sample " + path("run") + " --context-values 0.5 --n 10 --out " + path("within.npy"));
  ASSERT_EQ(within.exit_code, 0) << within.output;
  EXPECT_EQ(within.output.find("note: context"), std::string::npos) << within.output;
  Result likelihood = flowmatch("likelihood " + path("run") + " --data " + path("x.csv") + " --context " + path("c.csv"));
  EXPECT_EQ(likelihood.exit_code, 0) << likelihood.output;
  EXPECT_EQ(report_of(likelihood.output)["n"], "400");
  // Given the same start points, batches of 40 draw what one batch does, and --logp gives each
  // sample's log p(x | c) as likelihood scores it (integrating back, with its own solver).
  Result batched = flowmatch("sample " + path("run") + " --context " + path("c3.csv") + " --n 50 --noise " + path("s.npy") +
                             " --batch 40 --logp " + path("lp.npy") + " --out " + path("batched.npy"));
  Result whole = flowmatch("sample " + path("run") + " --context " + path("c3.csv") + " --noise " + path("s.npy") +
                           " --batch 150 --out " + path("whole.npy"));
  ASSERT_EQ(batched.exit_code + whole.exit_code, 0) << batched.output << whole.output;
  EXPECT_EQ(report_of(whole.output)["n_per_context"], "50");  // from the 150 start points
  std::vector<float> batched_x = read_npy_floats(path("batched.npy")), whole_x = read_npy_floats(path("whole.npy"));
  ASSERT_EQ(batched_x.size(), 150u);
  ASSERT_EQ(whole_x.size(), 150u);
  for (size_t i = 0; i < 150; ++i) EXPECT_NEAR(batched_x[i], whole_x[i], 1e-4) << i;
  std::string contexts_per_sample;
  for (const char* c : {"-1\n", "0\n", "1\n"})
    for (int i = 0; i < 50; ++i) contexts_per_sample += c;
  write("c150.csv", contexts_per_sample);
  Result scored = flowmatch("likelihood " + path("run") + " --data " + path("batched.npy") + " --context " + path("c150.csv") +
                            " --out " + path("scored.npy"));
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  std::vector<double> sampled_lp = read_npy_values<double>(path("lp.npy")), scored_lp = read_npy_values<double>(path("scored.npy"));
  ASSERT_EQ(sampled_lp.size(), 150u);
  double gap = 0;
  for (size_t i = 0; i < 150; ++i) gap += std::abs(sampled_lp[i] - scored_lp[i]) / 150;
  EXPECT_LT(gap, 0.05);
  // --grouped: the three context rows, each over its block of 50, score as the 150 rows written out.
  Result by_block = flowmatch("likelihood " + path("run") + " --data " + path("batched.npy") + " --context " + path("c3.csv") +
                              " --grouped --out " + path("grouped.npy"));
  ASSERT_EQ(by_block.exit_code, 0) << by_block.output;
  EXPECT_EQ(read_bytes(path("grouped.npy")), read_bytes(path("scored.npy")));
  std::vector<double> per_context = numbers_of(report_of(by_block.output).at("nll_per_context"));
  ASSERT_EQ(per_context.size(), 3u) << by_block.output;
  double block_mean = 0;
  for (size_t k = 0; k < 3; ++k) {
    double nll = 0;
    for (size_t i = 50 * k; i < 50 * (k + 1); ++i) nll -= scored_lp[i] / 50;
    block_mean += nll / 3;
    EXPECT_NEAR(per_context[k], nll, 1e-9) << k;
  }
  EXPECT_NEAR(std::stod(report_of(by_block.output).at("nll_nats")), block_mean, 1e-9);

  // With a context, x is z-scored by default: x = 1000 + 2 c + noise is learnt as z-scores and
  // sampled back in x's units. --standardize=false keeps x as given, which 60 steps cannot reach.
  std::string offset_rows;
  std::istringstream lines(x_rows);
  for (std::string line; std::getline(lines, line);) offset_rows += std::to_string(1000 + std::stof(line)) + "\n";
  write("x1000.csv", offset_rows);
  auto mean_sample_at_zero = [&](const std::string& options, const std::string& name) {
    Result trained = flowmatch("train --data " + path("x1000.csv") + " --context " + path("c.csv") + options + " --out " +
                               path(name) + small);
    EXPECT_EQ(trained.exit_code, 0) << trained.output;
    Result sampled = flowmatch("sample " + path(name) + " --context-values 0 --n 200 --out " + path(name + ".npy"));
    EXPECT_EQ(sampled.exit_code, 0) << sampled.output;
    double mean = 0;
    for (float x : read_npy_floats(path(name + ".npy"))) mean += x / 200.0;
    return mean;
  };
  EXPECT_NEAR(mean_sample_at_zero("", "std"), 1000.0, 5.0);  // z-scores alone would sit near 0
  EXPECT_NE(read_bytes(path("std/config.toml")).find("standardize=true"), std::string::npos);
  EXPECT_LT(mean_sample_at_zero(" --standardize=false", "raw"), 500.0);
  EXPECT_NE(read_bytes(path("raw/config.toml")).find("standardize=false"), std::string::npos);

  // reflow and distill draw their pairs given the training contexts, and keep them in pairs.safetensors.
  std::string rectify = " --steps 30 --log-every 10 --seed 1";
  Result reflowed =
      flowmatch("reflow " + path("run") + " --context " + path("c.csv") + " --pairs 800 --out " + path("rf") + rectify);
  ASSERT_EQ(reflowed.exit_code, 0) << reflowed.output;
  EXPECT_EQ(report_of(reflowed.output)["pair_count"], "800");
  EXPECT_EQ(report_of(reflowed.output).count("straightness"), 1u) << reflowed.output;
  Result distilled = flowmatch("distill " + path("run") + " --pairs-file " + path("rf/pairs.safetensors") +
                               " --steps-out 1 --out " + path("one") + rectify);
  ASSERT_EQ(distilled.exit_code, 0) << distilled.output;
  Result one_step = flowmatch("sample " + path("one") + " --context " + path("c3.csv") + " --n 10 --out " + path("one.npy"));
  ASSERT_EQ(one_step.exit_code, 0) << one_step.output;
  EXPECT_EQ(report_of(one_step.output)["nfe"], "1");

  // MeanFlow given a context: one jump per sample.
  Result meanflow = flowmatch("train --data " + path("x.csv") + " --context " + path("c.csv") + " --objective meanflow --out " +
                              path("mf") + small);
  ASSERT_EQ(meanflow.exit_code, 0) << meanflow.output;
  Result jumped = flowmatch("sample " + path("mf") + " --context " + path("c3.csv") + " --n 10 --out " + path("mf.npy"));
  ASSERT_EQ(jumped.exit_code, 0) << jumped.output;
  EXPECT_EQ(report_of(jumped.output)["nfe"], "1");
  EXPECT_EQ(read_npy_floats(path("mf.npy")).size(), 30u);

  std::string unconditional = train("plain", 2);
  ASSERT_EQ(flowmatch("train --data " + path("x.csv") + " --out " + path("plain1") + small).exit_code, 0);
  write("x399.csv", x_rows.substr(x_rows.find('\n') + 1));
  write("cnan.csv", "nan\n" + c_rows.substr(c_rows.find('\n') + 1));
  write_npy(path("wide.npy"), {1, 8000000}, std::vector<float>(8000000));
  std::vector<BadInput> cases = {
      {"train --data " + path("x399.csv") + " --context " + path("c.csv") + " --out " + path("x"), "has 399 rows but the context", "x"},
      {"train --data " + path("x.csv") + " --context " + path("cnan.csv") + " --out " + path("x"), "NaN", "x"},
      {"train --data " + path("x.csv") + " --context " + path("c.csv") + " --coupling ot --out " + path("x"),
       "a context takes the independent coupling", "x"},
      {"train --data " + path("joined.csv") + " --context-columns 0:2 --out " + path("x"), "leaving no x", "x"},
      {"train --data " + path("joined.csv") + " --context-columns 1:5 --out " + path("x"), "--context-columns must be A:B", "x"},
      {"sample " + path("run") + " --context-values 1,2 --out " + path("o.npy"), "the model takes 1-D contexts", "o.npy"},
      {"sample " + path("run") + " --out " + path("o.npy"), "give the contexts with --context", "o.npy"},
      {"sample " + unconditional + " --context-values 1 --out " + path("o.npy"), "--context needs a model trained with one", "o.npy"},
      {"likelihood " + path("run") + " --data " + path("x.csv") + " --out " + path("l.npy"), "give one context row per data row", "l.npy"},
      {"likelihood " + path("run") + " --data " + path("x.csv") + " --context " + path("c3.csv") + " --grouped --out " + path("l.npy"),
       "400 rows do not split into 3 equal blocks", "l.npy"},
      {"likelihood " + path("run") + " --data " + path("x.csv") + " --grouped --out " + path("l.npy"), "--grouped needs --context", "l.npy"},
      {"train --data " + path("x.csv") + " --context " + path("c.csv") + " --batch 2000000000 --out " + path("x"),
       "at batch 2000000000 needs about", "x"},
      {"train --data " + path("wide.npy") + " --width 1024 --out " + path("x"), "parameters) needs about", "x"},  // 1.7e10: refused unbuilt
      {"sample " + path("run") + " --context-values 1 --n 1000000000000 --out " + path("o.npy"), "needs about", "o.npy"},
      {"sample " + unconditional + " --n 1000000000000 --out " + path("o.npy"), "on disk", "o.npy"},
      {"sample " + unconditional + " --n 100000000 --trajectory " + path("t.npy") + " --steps 100000 --out " + path("o.npy"),
       "of memory", "o.npy"},
      {"reflow " + path("run") + " --out " + path("rf2"), "give --context C.npy", "rf2"},
      {"reflow " + unconditional + " --context " + path("c.csv") + " --out " + path("rf2"), "takes no context", "rf2"},
      {"reflow " + path("run") + " --context " + path("joined.csv") + " --out " + path("rf2"), "the model takes 1-D contexts", "rf2"},
      {"distill " + path("run") + " --steps-out 1 --context " + path("c.csv") + " --pairs-file " + path("rf/pairs.safetensors") +
           " --out " + path("rf2"),
       "does not go with --pairs-file", "rf2"},
      {"distill " + path("plain1") + " --steps-out 1 --pairs-file " + path("rf/pairs.safetensors") + " --out " + path("rf2"),
       "pairs with a context of size 1", "rf2"},
      {"sample " + path("mf") + " --context-values 1 --cfg 2 --out " + path("o.npy"), "a context only without guidance", "o.npy"},
      {"train --data " + path("x.csv") + " --context " + path("c.csv") + " --model seed-mlp --linear-term true --out " + path("x"),
       "--linear-term is an mlp option, not seed-mlp's", "x"},
      {"train --data " + path("x.csv") + " --context " + path("c.csv") + " --objective meanflow --linear-term true --out " + path("x"),
       "the linear term is for flows, not for interval (MeanFlow) models", "x"},
      {"train --data " + path("x.csv") + " --linear-term yes --out " + path("x"), "--linear-term", "x"},
      {"simulate three-moons --n 10 --theta " + path("t.npy") + " --x " + path("xs.npy"), "unknown task 'three-moons'", "t.npy"},
      {"simulate slcp --posterior --observation " + path("c3.csv") + " --n 10 --out " + path("r.npy"), "observations are 8-D", "r.npy"},
  };
  expect_each_refused(cases);
}

// A context run stopped by SIGTERM and resumed keeps the best held-out weights so far, their score
// and the patience count, and so ends with the same bytes as one never interrupted.
TEST_F(Cli, StoppedContextRunsResumeToTheSameBytes) {
  const LinearContextData data;
  write("x.csv", data.x_rows);
  write("c.csv", data.c_rows);
  const std::string run = "train --data " + path("x.csv") + " --context " + path("c.csv") +
                          " --steps 3000 --width 32 --depth 1 --log-every 20 --patience 1000 --seed 2 --threads 1 --out ";
  auto start = std::chrono::steady_clock::now();
  Result whole = flowmatch(run + path("whole"));
  double whole_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  std::random_device entropy;
  double delay = std::uniform_real_distribution<double>(0.4, 0.8)(entropy) * whole_seconds;
  Result stopped = shell("timeout -s TERM " + std::to_string(delay) + " " + FLOWMATCH_BIN + " " + run + path("stopped"));
  ASSERT_EQ(stopped.exit_code, 124) << "not stopped after " << delay << " s\n" << stopped.output;
  Result resumed = flowmatch("train --resume " + path("stopped") + " --threads 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(report_of(resumed.output)["best_step"], report_of(whole.output)["best_step"]);
  EXPECT_TRUE(read_bytes(path("stopped/model.safetensors")) == read_bytes(path("whole/model.safetensors"))) << "after " << delay << " s";
}

TEST_F(Cli, SimulatesTasksAndScoresPosteriorsWithC2st) {
  Result sim = flowmatch("simulate two-moons --n 2 --theta " + path("t.npy") + " --x " + path("obs.npy") + " --seed 1");
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  for (int seed : {2, 3}) {
    Result post = flowmatch("simulate two-moons --posterior --observation " + path("obs.npy") + " --n 1500 --out " +
                            path("ref" + std::to_string(seed) + ".npy") + " --seed " + std::to_string(seed));
    ASSERT_EQ(post.exit_code, 0) << post.output;
  }
  Result same = flowmatch("eval " + path("ref2.npy") + " --target " + path("ref3.npy") + " --c2st --groups 2");
  ASSERT_EQ(same.exit_code, 0) << same.output;
  size_t mean = same.output.find("\"mean\":");
  ASSERT_NE(mean, std::string::npos) << same.output;
  EXPECT_NEAR(std::stod(same.output.substr(mean + 7)), 0.5, 0.04) << same.output;  // indistinguishable
}

// Sampling beyond the plain ODE, from the command line (issue 20): a time grid's times land in the
// trajectory as the formula gives them, once; inversion and sampling from its noise return the
// data; editing with strength 0 keeps the input and with strength 1 is plain sampling; the SDE
// runs; imputation keeps the known entries; and what cannot work is refused before anything is
// written.
TEST_F(Cli, TimeGridsInversionEditingAndStochasticSampling) {
  Result train = flowmatch("train --data moons --out " + path("m") + " --steps 400 --batch 256 --lr 2e-3 --width 128 --depth 2 --seed 3");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  Result drawn = flowmatch("sample " + path("m") + " --n 500 --seed 5 --out " + path("x.npy"));
  ASSERT_EQ(drawn.exit_code, 0) << drawn.output;

  // SD3's shift 3 in flowmatch's time: t_i = u / (3 - 2 u), u = i / 4.
  Result grid = flowmatch("sample " + path("m") + " --n 10 --solver euler --steps 4 --time-grid shift:3 --out " + path("g.npy") +
                          " --trajectory " + path("g-path.npy"));
  ASSERT_EQ(grid.exit_code, 0) << grid.output;
  EXPECT_EQ(report_of(grid.output)["time_grid"], "shift:3");
  std::vector<double> times = read_npy_values<double>(path("g-path.times.npy"));
  ASSERT_EQ(times.size(), 5u);
  for (int i = 0; i <= 4; ++i) EXPECT_NEAR(times[i], (i / 4.0) / (3 - 2 * (i / 4.0)), 1e-12) << i;

  // Data -> noise -> data, in float64 at dopri5's 1e-8 (its tolerance bounds the batch's RMS error).
  const std::string tight = " --solver dopri5 --atol 1e-8 --rtol 1e-8 --float64";
  Result inverted = flowmatch("invert " + path("m") + " --data " + path("x.npy") + " --out " + path("z.npy") + tight);
  ASSERT_EQ(inverted.exit_code, 0) << inverted.output;
  auto noise_report = report_of(inverted.output);
  // The noise looks like N(0, I), as far as a flow trained for 400 steps carries N(0, I) to moons
  // (the moons themselves are far off: KS distance 0.16, variances 4.3 and 1.7).
  EXPECT_LT(std::stod(noise_report.at("noise_ks_distance")), 1.5 * std::stod(noise_report.at("noise_ks_critical_1pct")));
  EXPECT_NEAR(std::stod(noise_report.at("noise_variance")), 1.0, 0.15);
  Result back = flowmatch("sample " + path("m") + " --noise " + path("z.npy") + " --out " + path("x-back.npy") + tight);
  ASSERT_EQ(back.exit_code, 0) << back.output;
  std::vector<float> x = read_npy_floats(path("x.npy")), x_back = read_npy_floats(path("x-back.npy"));
  ASSERT_EQ(x.size(), x_back.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], x_back[i], 1e-4) << i;

  // Editing: strength 0 returns the input; strength 1 draws what plain sampling with that seed draws.
  Result kept = flowmatch("sample " + path("m") + " --from " + path("x.npy") + " --strength 0 --out " + path("kept.npy"));
  ASSERT_EQ(kept.exit_code, 0) << kept.output;
  EXPECT_EQ(read_npy_floats(path("kept.npy")), x);
  Result fresh = flowmatch("sample " + path("m") + " --from " + path("x.npy") + " --strength 1 --seed 5 --out " + path("fresh.npy"));
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  EXPECT_EQ(read_bytes(path("fresh.npy")), read_bytes(path("x.npy")));
  Result half = flowmatch("sample " + path("m") + " --from " + path("x.npy") + " --strength 0.5 --seed 6 --out " + path("half.npy"));
  ASSERT_EQ(half.exit_code, 0) << half.output;
  EXPECT_NE(read_npy_floats(path("half.npy")), x);

  // The SDE: its samples are moons too (the unit tests check its moments against the closed form).
  Result noisy = flowmatch("sample " + path("m") + " --n 2000 --solver midpoint --steps 20 --noise-scale 1 --out " + path("sde.npy"));
  ASSERT_EQ(noisy.exit_code, 0) << noisy.output;
  EXPECT_EQ(report_of(noisy.output)["noise_scale"], "1.0");
  EXPECT_EQ(noisy.output.find("start again from fresh noise"), std::string::npos) << noisy.output;
  Result restarting = flowmatch("sample " + path("m") + " --n 10 --solver euler --steps 8 --noise-scale 30 --out " + path("restarts.npy"));
  ASSERT_EQ(restarting.exit_code, 0) << restarting.output;
  EXPECT_NE(restarting.output.find("with --noise-scale 30 and 8 steps, 6 steps start again from fresh noise"), std::string::npos)
      << restarting.output;
  Result scored = flowmatch("eval " + path("sde.npy") + " --target moons");
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  EXPECT_LT(std::stod(report_of(scored.output).at("energy_distance")), 0.05) << scored.output;

  // Imputation: NaN marks the missing entries; the known ones come back exactly, the rest filled.
  write("partial.csv", "0.5,nan\nnan,0.25\n-1,0.5\nnan,nan\n");
  Result filled = flowmatch("impute " + path("m") + " --data " + path("partial.csv") + " --steps 10 --corrector-steps 5 --out " +
                            path("full.npy"));
  ASSERT_EQ(filled.exit_code, 0) << filled.output;
  EXPECT_EQ(report_of(filled.output)["missing_entries"], "4");
  EXPECT_EQ(report_of(filled.output)["nfe"], std::to_string(10 * 2 + 9 * 5));
  std::vector<float> full = read_npy_floats(path("full.npy"));
  ASSERT_EQ(full.size(), 8u);
  EXPECT_EQ(full[0], 0.5f);
  EXPECT_EQ(full[3], 0.25f);
  EXPECT_EQ(full[4], -1.0f);
  EXPECT_EQ(full[5], 0.5f);
  for (float value : full) EXPECT_TRUE(std::isfinite(value));

  write("nan.csv", "0.1,0.2\nnan,0.3\n");
  write("inf.csv", "0.1,inf\nnan,0.3\n");
  const std::string m = path("m");
  std::vector<BadInput> cases = {
      {"sample " + m + " --time-grid shfit:3 --out " + path("o.npy"), "did you mean shift", "o.npy"},
      {"sample " + m + " --time-grid edm:-1 --out " + path("o.npy"), "must be a positive number", "o.npy"},
      {"sample " + m + " --solver dopri5 --time-grid cosine --out " + path("o.npy"), "dopri5 places its own steps", "o.npy"},
      {"sample " + m + " --noise-scale -1 --out " + path("o.npy"), "--noise-scale must be a finite number >= 0", "o.npy"},
      {"sample " + m + " --solver dopri5 --noise-scale 1 --out " + path("o.npy"), "--noise-scale is for fixed-grid solvers", "o.npy"},
      {"sample " + m + " --noise-scale 1 --logp " + path("l.npy") + " --out " + path("o.npy"), "log-densities follow the ODE", "o.npy"},
      {"sample " + m + " --from " + path("x.npy") + " --strength 1.5 --out " + path("o.npy"), "--strength must lie in [0, 1]", "o.npy"},
      {"sample " + m + " --strength 0.5 --out " + path("o.npy"), "--strength is for editing", "o.npy"},
      {"sample " + m + " --from " + path("nan.csv") + " --out " + path("o.npy"), "NaN or infinite", "o.npy"},
      {"invert " + m + " --data " + path("x.npy") + " --solver euler --noise-scale 1 --out " + path("o.npy"), "", "o.npy"},
      {"invert " + m + " --data " + path("x.npy") + " --solver euler --out " + path("o.csv"), "--out must name a .npy file", "o.csv"},
      {"invert " + m + " --data " + path("nan.csv") + " --out " + path("o.npy"), "NaN or infinite", "o.npy"},
      {"invert " + m + " --data " + path("x.npy") + " --class 1 --out " + path("o.npy"), "--class is for class-conditional image models", "o.npy"},
      {"impute " + m + " --data " + path("inf.csv") + " --out " + path("o.npy"), "infinite value (NaN marks a missing one)", "o.npy"},
      {"impute " + m + " --data " + path("partial.csv") + " --solver dopri5 --out " + path("o.npy"), "fixed grid", "o.npy"},
      {"impute " + m + " --data " + path("partial.csv") + " --corrector-size 2 --out " + path("o.npy"), "(0, 1]", "o.npy"},
      {"impute " + m + " --data " + path("x.npy") + " --context " + path("x.npy") + " --out " + path("o.npy"), "takes none", "o.npy"},
  };
  expect_each_refused(cases);
}

// The lines of metrics.jsonl that carry `field`, as text.
std::vector<std::string> lines_with(const std::string& metrics, const std::string& field) {
  std::vector<std::string> found;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);)
    if (line.find("\"" + field + "\":") != std::string::npos) found.push_back(line);
  return found;
}
// A number of a metrics.jsonl line.
double field_of(const std::string& line, const std::string& field) {
  size_t at = line.find("\"" + field + "\":");
  return std::stod(line.substr(at + field.size() + 3));
}

TEST_F(Cli, EvaluationWhileTrainingKeepsTheBestAndLeavesTrainingAsItWas) {
  const std::string run = "train --data checkerboard --steps 400 --batch 256 --width 64 --depth 2 --log-every 50 --seed 3 "
                          "--threads 2 --out ";
  Result plain = flowmatch(run + path("plain"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  Result evaluated = flowmatch(run + path("evaluated") +
                               " --eval-every 100 --eval-n 1000 --keep-best energy_distance --tensorboard");
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.output;
  // Evaluation draws from its own generator: the training is byte for byte the same.
  EXPECT_EQ(read_bytes(path("evaluated/model.safetensors")), read_bytes(path("plain/model.safetensors")));
  EXPECT_NE(evaluated.output.find("energy_distance "), std::string::npos) << evaluated.output;  // on the progress line

  std::string metrics = read_bytes(path("evaluated/metrics.jsonl"));
  std::vector<std::string> scored = lines_with(metrics, "eval_energy_distance");
  ASSERT_EQ(scored.size(), 4u) << metrics;  // steps 100, 200, 300, 400
  for (const std::string& line : scored)
    for (std::string measure : {"eval_sliced_w2", "eval_on_cell_fraction", "eval_nll"})
      EXPECT_NE(line.find("\"" + measure + "\":"), std::string::npos) << measure << " in " << line;
  std::vector<std::string> kept = lines_with(metrics, "best_eval_step");
  ASSERT_FALSE(kept.empty());
  const std::string& best = kept.back();
  EXPECT_EQ(report_of(evaluated.output)["best_eval_step"], std::to_string(int64_t(field_of(best, "step"))));
  for (const std::string& line : scored)  // the kept step scored lowest
    EXPECT_GE(field_of(line, "eval_energy_distance"), field_of(best, "eval_energy_distance"));
  // best.safetensors recomputes its logged scores with sample and eval.
  Result drawn = flowmatch("sample " + path("evaluated/best.safetensors") + " --n 1000 --seed 3 --threads 2 --out " + path("b.npy"));
  ASSERT_EQ(drawn.exit_code, 0) << drawn.output;
  Result scored_again = flowmatch("eval " + path("b.npy") + " --target checkerboard --seed 3");
  ASSERT_EQ(scored_again.exit_code, 0) << scored_again.output;
  auto again = report_of(scored_again.output);
  EXPECT_NEAR(std::stod(again["energy_distance"]), field_of(best, "eval_energy_distance"), 1e-12);  // summation order only
  EXPECT_NEAR(std::stod(again["sliced_w2"]), field_of(best, "eval_sliced_w2"), 1e-12);
  EXPECT_EQ(std::stod(again["on_cell_fraction"]), field_of(best, "eval_on_cell_fraction"));
  Result likelihood = flowmatch("likelihood " + path("evaluated/best.safetensors") +
                                " --data checkerboard --n 500 --seed 3 --solver rk4 --steps 20 --threads 2");  // as sample drew
  ASSERT_EQ(likelihood.exit_code, 0) << likelihood.output;
  EXPECT_NEAR(std::stod(report_of(likelihood.output)["nll_nats"]), field_of(best, "eval_nll"), 1e-9);
  std::string best_file = read_bytes(path("evaluated/best.safetensors"));
  EXPECT_NE(best_file.find("\"flowmatch.best_measure\":\"energy_distance\""), std::string::npos);
  EXPECT_NE(best_file.find("\"step\":\"" + std::to_string(int64_t(field_of(best, "step"))) + "\""), std::string::npos);

  // The TensorBoard event file holds every number of the log, and the samples' picture (its records
  // are decoded field by field in tests/io/tensorboard_events_test.cpp).
  std::string events;
  for (const auto& entry : fs::directory_iterator(path("evaluated")))
    if (entry.path().filename().string().rfind("events.out.tfevents.", 0) == 0) events = read_bytes(entry.path());
  for (std::string tag : {"brain.Event:2", "loss", "grad_norm", "eval_energy_distance", "eval_sliced_w2", "samples", "\x89PNG"})
    EXPECT_NE(events.find(tag), std::string::npos) << tag;

  const std::string m = path("plain");
  write("ctx.csv", "0.1\n0.2\n0.3\n0.4\n0.5\n0.6\n0.7\n0.8\n0.9\n1.0\n");
  write("x.csv", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
  const std::string quick = "train --data checkerboard --steps 10 --out " + path("bad");
  std::vector<BadInput> cases = {
      {quick + " --eval-every 100 --keep-best fd", "--keep-best fd is not a measure of this data (energy_distance, sliced_w2, on_cell_fraction, nll)", "bad"},
      {quick + " --eval-every 100 --keep-best energy_distanse", "did you mean energy_distance?", "bad"},
      {quick + " --eval-every 150", "--eval-every must be a multiple of --log-every (100)", "bad"},
      {quick + " --keep-best energy_distance", "need --eval-every", "bad"},
      {quick + " --eval-every 100 --eval-n 1", "--eval-n must be at least 2", "bad"},
      {quick + " --eval-every 100 --eval-solver rk5", "rk5", "bad"},
      {"train --data " + path("x.csv") + " --context " + path("ctx.csv") + " --steps 10 --eval-every 100 --out " + path("bad"),
       "a context model", "bad"},
  };
  expect_each_refused(cases);
}

TEST_F(Cli, ReportShowsRunsSideBySideInAHeadlessBrowser) {
  for (std::string lr : {"1e-3", "3e-3"}) {
    Result run = flowmatch("train --data checkerboard --steps 200 --batch 128 --width 32 --depth 1 --log-every 50 --threads 2 "
                           "--eval-every 100 --eval-n 500 --lr " + lr + " --out " + path("lr" + lr));
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  const std::string runs = path("lr1e-3") + " " + path("lr3e-3");
  Result made = flowmatch("report " + runs + " --out " + path("report.html"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::string html = read_bytes(path("report.html"));
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no address but the SVG namespace
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"differs\"><th>lr</th>"), std::string::npos);  // the setting that differs is marked
  EXPECT_EQ(html.find("<tr class=\"differs\"><th>steps</th>"), std::string::npos);
  EXPECT_NE(html.find("aria-label=\"eval_energy_distance\""), std::string::npos);  // a chart per measure

  std::vector<BadInput> cases = {
      {"report " + path("nowhere") + " --out " + path("r.html"), "nowhere is not a run folder (no such folder)", "r.html"},
      {"report " + dir_ + " --out " + path("r.html"), "it has no metrics.jsonl", "r.html"},
      {"report " + runs + " --out " + path("r.txt"), "--out must name an .html file", "r.txt"},
      {"report " + runs + " --out " + path("report.html"), "exists", ""},
  };
  expect_each_refused(cases);

  if (shell("command -v chromium").exit_code != 0)
    GTEST_SKIP() << "no browser: scripts/install-deps.sh --browser installs Debian's chromium for this check";
  // Loaded from the file with every name unresolvable; the page's own check reports on <body>.
  for (int width : {390, 1280}) {
    SCOPED_TRACE("window width " + std::to_string(width));
    Result page = shell("timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir=" +
                        path("browser") + " --host-resolver-rules='MAP * ~NOTFOUND' --enable-logging=stderr --v=0 "
                        "--window-size=" + std::to_string(width) + ",900 --dump-dom file://" + path("report.html"));
    ASSERT_EQ(page.exit_code, 0) << page.output;
    EXPECT_EQ(page.output.find("CONSOLE"), std::string::npos) << page.output;  // no script error, nothing refused
    std::smatch body;
    ASSERT_TRUE(std::regex_search(page.output, body, std::regex("<body([^>]*)>"))) << page.output;
    const std::string attributes = body[1].str();
    EXPECT_NE(attributes.find("data-images=\"4\""), std::string::npos) << attributes;  // samples.png and loss.png of each
    EXPECT_NE(attributes.find("data-broken-images=\"0\""), std::string::npos) << attributes;
    EXPECT_NE(attributes.find("data-overflows=\"no\""), std::string::npos) << attributes;  // nothing wider than the window
    std::smatch curves;
    ASSERT_TRUE(std::regex_search(attributes, curves, std::regex("data-curves=\"(\\d+)\""))) << attributes;
    EXPECT_GE(std::stoi(curves[1]), 2 * 7);  // two runs' loss, lr, grad norm, rate, time and two scores at least
  }
}

// The discrete checkerboard (32 bins a side here): the token model chosen by the data learns the
// board, one sampler step draws the two tokens independently (half off the cells), the bound on
// exact samples lies between the data's entropy and the uniform's, and a stopped run resumes to
// the same bytes.
TEST_F(Cli, DiscreteCheckerboardLearnsTheBoardAndResumesToTheSameBytes) {
  const std::string run = "train --data discrete-checkerboard --bins 32 --steps 1500 --batch 256 --width 128 --depth 2 "
                          "--log-every 50 --checkpoint-every 25 --seed 2 --threads 1 --out ";
  auto start = std::chrono::steady_clock::now();
  Result whole = flowmatch(run + path("whole"));
  const double whole_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const std::string config = read_bytes(path("whole/config.toml"));
  EXPECT_NE(config.find("objective=\"discrete-flow-matching\""), std::string::npos) << config;  // chosen by the data
  EXPECT_NE(config.find("model=\"token-mlp\""), std::string::npos) << config;

  Result sampled = flowmatch("sample " + path("whole") + " --n 20000 --steps 50 --out " + path("s.npy") + " --png " + path("h.png"));
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  EXPECT_EQ(report_of(sampled.output)["nfe"], "50");
  EXPECT_TRUE(fs::exists(path("h.png")));
  Result scored = flowmatch("eval " + path("s.npy") + " --target discrete-checkerboard --bins 32");
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  EXPECT_GE(std::stod(report_of(scored.output)["on_cell_fraction"]), 0.95) << scored.output;
  EXPECT_LE(std::stod(report_of(scored.output)["tv_ratio"]), 1.6) << scored.output;
  ASSERT_EQ(flowmatch("sample " + path("whole") + " --n 20000 --steps 1 --out " + path("one.npy")).exit_code, 0);
  Result one_step = flowmatch("eval " + path("one.npy") + " --target discrete-checkerboard --bins 32");
  EXPECT_NEAR(std::stod(report_of(one_step.output)["on_cell_fraction"]), 0.5, 0.05) << one_step.output;

  // 4000 exact sequences: 8 on-cells of 16 x 16 bins, so 9 bits a sequence, 4.5 a token; uniform is 5.
  std::mt19937 rng(3);
  std::vector<int64_t> exact;
  for (int i = 0; i < 4000; ++i) {
    int cell = int(rng() % 8), row = cell / 2, column = 2 * (cell % 2) + (1 - row % 2);
    exact.push_back(column * 8 + int(rng() % 8));
    exact.push_back(row * 8 + int(rng() % 8));
  }
  write_npy(path("exact.npy"), {4000, 2}, exact);
  Result bound = flowmatch("likelihood " + path("whole") + " --data " + path("exact.npy"));
  ASSERT_EQ(bound.exit_code, 0) << bound.output;
  const double bits = std::stod(report_of(bound.output)["bits_per_token"]);
  EXPECT_GT(bits, 4.5 - 0.05) << bound.output;
  EXPECT_LT(bits, 4.8) << bound.output;

  std::random_device entropy;
  const double delay = std::uniform_real_distribution<double>(0.4, 0.8)(entropy) * whole_seconds;
  Result stopped = shell("timeout -s TERM " + std::to_string(delay) + " " + FLOWMATCH_BIN + " " + run + path("stopped"));
  ASSERT_EQ(stopped.exit_code, 124) << "not stopped after " << delay << " s\n" << stopped.output;
  Result resumed = flowmatch("train --resume " + path("stopped") + " --threads 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_TRUE(read_bytes(path("stopped/model.safetensors")) == read_bytes(path("whole/model.safetensors"))) << "after " << delay << " s";
}

// A text model learns a small language of syllables (ka lo mi su, one to three of them): its bound
// on held-out words is well below the uniform's log2 9 = 3.17 bits a character, and most of its
// samples are words of the language. Then every kind of bad token input is refused.
TEST_F(Cli, TextModelLearnsALanguageAndBadTokenInputIsRefused) {
  const std::vector<std::string> syllables{"ka", "lo", "mi", "su"};
  std::vector<std::string> words;
  for (const auto& a : syllables) {
    words.push_back(a);
    for (const auto& b : syllables) {
      words.push_back(a + b);
      for (const auto& c : syllables) words.push_back(a + b + c);
    }
  }
  std::shuffle(words.begin(), words.end(), std::mt19937(4));
  std::string train_lines, held_lines;
  for (size_t i = 0; i < words.size(); ++i) (i < 70 ? train_lines : held_lines) += words[i] + "\n";
  write("words.txt", train_lines);
  write("held.txt", held_lines);
  Result trained = flowmatch("train --data " + path("words.txt") + " --model transformer --width 32 --depth 2 --heads 2 "
                             "--steps 800 --batch 128 --log-every 100 --seed 5 --threads 1 --out " + path("text"));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  Result bound = flowmatch("likelihood " + path("text") + " --data " + path("held.txt"));
  ASSERT_EQ(bound.exit_code, 0) << bound.output;
  EXPECT_LT(std::stod(report_of(bound.output)["bits_per_character"]), 2.2) << bound.output;
  Result sampled = flowmatch("sample " + path("text") + " --n 500 --steps 20 --out " + path("s.txt"));
  ASSERT_EQ(sampled.exit_code, 0) << sampled.output;
  write("all.txt", train_lines + held_lines);
  Result scored = flowmatch("eval " + path("s.txt") + " --target " + path("all.txt"));
  ASSERT_EQ(scored.exit_code, 0) << scored.output;
  EXPECT_GT(std::stod(report_of(scored.output)["in_target_share"]), 0.7) << scored.output << read_bytes(path("s.txt"));

  write("empty.txt", "");
  write("long.txt", "kalomi\nka\n");
  write("other.txt", "kaz\n");
  write_npy(path("tokens.npy"), {2, 2}, std::vector<int64_t>{0, 1, 2, 7});
  const std::string text = path("text"), words_file = path("words.txt");
  expect_each_refused({
      {"train --data " + path("empty.txt") + " --out " + path("x"), "empty.txt is empty: give one sequence per line", "x"},
      {"train --data " + path("long.txt") + " --max-length 3 --out " + path("x"), "line 1 has 6 characters, more than the sequence length 3", "x"},
      {"train --data " + path("tokens.npy") + " --vocabulary 5 --out " + path("x"), "token 7 at row 1, position 1 is outside the vocabulary 0 .. 4", "x"},
      {"train --data " + path("tokens.npy") + " --vocabulary 70000 --out " + path("x"), "over the limit of 65536", "x"},
      {"train --data " + words_file + " --objective flow-matching --out " + path("x"), "holds tokens, which train with discrete-flow-matching", "x"},
      {"train --data moons --objective discrete-flow-matching --out " + path("x"), "is for token data", "x"},
      {"train --data " + words_file + " --model mlp --out " + path("x"), "--model mlp is for points or images", "x"},
      {"train --data " + words_file + " --source noise --out " + path("x"), "unknown token source 'noise'", "x"},
      {"train --data discrete-checkerboard --bins 30 --out " + path("x"), "--bins must be a multiple of 4", "x"},
      {"train --data moons --bins 64 --out " + path("x"), "are for token data; moons is not", "x"},
      {"train --data " + words_file + " --eval-every 100 --out " + path("x"), "--eval-every scores points and images", "x"},
      {"sample " + text + " --out " + path("o.npy"), "--out (a model of text lines) must name a .txt file", "o.npy"},
      {"sample " + text + " --solver rk4 --out " + path("o.txt"), "--solver is not for a token model", "o.txt"},
      {"sample " + text + " --temperature 0 --out " + path("o.txt"), "--temperature must be a positive number", "o.txt"},
      {"sample " + text + " --png " + path("h.png") + " --out " + path("o.txt"), "histogram of 2-token sequences", "o.txt"},
      {"likelihood " + text + " --data " + path("other.txt"), "line 1: the character 'z' is not in the model's vocabulary", ""},
      {"likelihood " + text + " --data " + path("tokens.npy"), "this model reads text", ""},
      {"eval " + path("s.txt") + " --target discrete-checkerboard", "discrete-checkerboard samples are a .npy", ""},
  });
}

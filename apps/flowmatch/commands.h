#pragma once
#include <CLI/CLI.hpp>

namespace flowmatch::cli {

// Each registers one subcommand, whose callback does the work.
void add_train_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_likelihood_command(CLI::App& app);
void add_reflow_command(CLI::App& app);
void add_distill_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_fd_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_invert_command(CLI::App& app);
void add_impute_command(CLI::App& app);
void add_inpaint_command(CLI::App& app);
void add_simulate_command(CLI::App& app);
void add_report_command(CLI::App& app);

}  // namespace flowmatch::cli

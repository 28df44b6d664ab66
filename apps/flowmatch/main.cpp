// flowmatch: train, sample, evaluate and draw flow-matching models.
#include <c10/util/Exception.h>

#include <csignal>
#include <iostream>

#include "commands.h"
#include "common.h"
#include "parse_errors.h"
#include "flowmatch/core/blas_kernels.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/stop_signals.h"

int main(int argc, char** argv) {
  flowmatch::use_best_blas_kernels(argv);  // before anything: it may start the program again
  // Past a file-size limit (ulimit -f) a write then fails with EFBIG and is reported like a full
  // disk, instead of SIGXFSZ killing the process halfway through a file.
  std::signal(SIGXFSZ, SIG_IGN);
  flowmatch::cli::command_line().assign(argv, argv + argc);
  CLI::App app{"flowmatch: flow-matching generative models in C++"};
  app.require_subcommand(1);
  std::string blas = flowmatch::blas_core();
  app.set_version_flag("--version", std::string("flowmatch " FLOWMATCH_VERSION) + (blas.empty() ? "" : " (OpenBLAS kernels: " + blas + ")"));
  flowmatch::cli::add_train_command(app);
  flowmatch::cli::add_sample_command(app);
  flowmatch::cli::add_eval_command(app);
  flowmatch::cli::add_likelihood_command(app);
  flowmatch::cli::add_invert_command(app);
  flowmatch::cli::add_impute_command(app);
  flowmatch::cli::add_inpaint_command(app);
  flowmatch::cli::add_reflow_command(app);
  flowmatch::cli::add_distill_command(app);
  flowmatch::cli::add_demo_command(app);
  flowmatch::cli::add_fd_command(app);
  flowmatch::cli::add_convert_command(app);
  flowmatch::cli::add_simulate_command(app);
  flowmatch::cli::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return flowmatch::cli::report_parse_error(app, e);
  } catch (const flowmatch::Stopped& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 128 + e.signal();
  } catch (const flowmatch::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

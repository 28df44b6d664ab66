// flowmatch report RUN_DIR [RUN_DIR...] --out REPORT.html
#include <ctime>
#include <memory>

#include "commands.h"
#include "common.h"
#include "flowmatch/core/error.h"
#include "flowmatch/core/file_name.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/train/run_report.h"

namespace flowmatch::cli {

namespace {
struct ReportArgs {
  std::vector<std::string> runs;
  std::string out;
  bool overwrite = false;
};

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  return text;
}

void run_report(const ReportArgs& a) {
  if (!ends_with(a.out, ".html") && !ends_with(a.out, ".htm")) throw Error("--out must name an .html file, got " + a.out);
  check_writable_destination(a.out, a.overwrite);
  std::vector<RunSummary> runs;
  for (const std::string& dir : a.runs) runs.push_back(read_run_summary(dir));  // every run read before writing
  const std::string html = run_report_html(runs, utc_now());
  write_file_atomically(a.out, html);
  print_report({{"report", a.out}, {"runs", a.runs.size()}, {"bytes", html.size()}});
}
}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand(
      "report", "One self-contained HTML page of one or more runs: scores, curves on shared axes, samples, settings side by side");
  cmd->add_option("runs", args->runs, "Run folders (as train writes them)")->required();
  cmd->add_option("--out", args->out, "The HTML file to write")->required();
  add_overwrite_flag(cmd, args->overwrite);
  cmd->callback([args] { run_report(*args); });
}

}  // namespace flowmatch::cli

#pragma once
#include <CLI/CLI.hpp>

namespace flowmatch::cli {

// Reports a malformed command line as docs/cli.md promises and returns the exit status: one line
// "error: ..." on stderr that names the nearest option or command for a near miss, and status 2.
// --help and --version print as usual and return 0.
int report_parse_error(CLI::App& app, const CLI::ParseError& e);

}  // namespace flowmatch::cli

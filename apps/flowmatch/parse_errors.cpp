#include "parse_errors.h"

#include <iostream>

#include "common.h"
#include "flowmatch/core/nearest_name.h"
#include "flowmatch/core/registry.h"

namespace flowmatch::cli {

namespace {

std::vector<std::string> command_names(CLI::App& app) {
  std::vector<std::string> names;
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return !s->get_name().empty(); })) names.push_back(sub->get_name());
  return names;
}

// The option a near miss meant: the nearest name, or one that another command spells with a prefix
// (demo's --sample-steps is sample's --steps; reflow's --pair-solver is sample's --solver), for
// names of 4 letters or more.
std::string suggestion(const std::string& given, const std::vector<std::string>& names) {
  std::string nearest = did_you_mean(given, names);
  if (!nearest.empty()) return nearest;
  for (const std::string& name : names)
    if (name.size() >= 6 && given.size() > name.size() && given.compare(given.size() - name.size() + 2, name.size() - 2, name, 2) == 0 &&
        given[given.size() - name.size() + 1] == '-')
      return "; did you mean " + name + "?";
  return "";
}

// What was left over on the command line of `cmd`: an unknown command, an unknown option (near
// misses named), or else a word nothing takes.
std::string leftover_message(CLI::App& app, CLI::App* cmd) {
  std::string where = cmd == &app ? "flowmatch" : "flowmatch " + cmd->get_name();
  std::vector<std::string> left = cmd->remaining();
  if (cmd == &app && !left.empty() && left.front()[0] != '-')
    return "unknown command '" + left.front() + "'" + did_you_mean(left.front(), command_names(app)) + " (choose " +
           join_names(command_names(app)) + ")";
  for (const std::string& word : left)
    if (word.size() > 1 && word[0] == '-') {
      std::string option = word.substr(0, word.find('='));
      return where + " has no option " + option + suggestion(option, long_option_names(cmd, "--")) + " (" + where + " --help lists them)";
    }
  return "unexpected argument" + std::string(left.size() > 1 ? "s" : "") + " '" + CLI::detail::join(left, " ") + "' for " +
         where + " (" + where + " --help)";
}

// "Could not convert: --lr = abc" names the option and the value it could not read.
std::string conversion_message(CLI::App* cmd, const std::string& what) {
  const std::string prefix = "Could not convert: ";
  size_t equals = what.find(" = ");
  if (what.rfind(prefix, 0) != 0 || equals == std::string::npos) return what;
  std::string option = what.substr(prefix.size(), equals - prefix.size());
  std::string type = "a value of its type";
  if (const CLI::Option* opt = cmd->get_option_no_throw(option)) {
    std::string name = opt->get_type_name();
    if (name.find("INT") != std::string::npos) type = "a whole number";
    else if (name.find("FLOAT") != std::string::npos) type = "a number";
  }
  return option + " takes " + type + ", not '" + what.substr(equals + 3) + "'";
}

}  // namespace

int report_parse_error(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
  std::vector<CLI::App*> parsed = app.get_subcommands();
  CLI::App* cmd = parsed.empty() ? &app : parsed.back();
  std::string message;
  if (dynamic_cast<const CLI::ExtrasError*>(&e) || (parsed.empty() && !app.remaining().empty()))
    message = leftover_message(app, cmd);
  else if (parsed.empty())
    message = "a command is required: " + join_names(command_names(app)) + " (flowmatch --help)";
  else if (dynamic_cast<const CLI::ConversionError*>(&e))
    message = conversion_message(cmd, e.what());
  else
    message = e.what() + std::string(" (flowmatch ") + cmd->get_name() + " --help)";
  std::cerr << "error: " << message << "\n";
  return 2;
}

}  // namespace flowmatch::cli

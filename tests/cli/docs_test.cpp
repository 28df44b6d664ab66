// The docs agree with the command: every `flowmatch CMD --option` in a code block of README.md or
// docs/*.md names a command and an option that `flowmatch CMD --help` lists, and docs/cli.md has a
// section for each command `flowmatch --help` lists that mentions every option its --help lists.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "cli/run_command.h"

namespace {
namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::set<std::string> option_names_in(const std::string& text) {
  static const std::regex option(R"(--[a-z][a-z0-9-]*)");
  std::set<std::string> names;
  for (std::sregex_iterator it(text.begin(), text.end(), option), end; it != end; ++it) names.insert(it->str());
  return names;
}

// The long options `flowmatch CMD --help` lists (the first column of its option lines); empty when
// CMD is not a command.
const std::set<std::string>& help_options(const std::string& command) {
  static std::map<std::string, std::set<std::string>> cache;
  auto found = cache.find(command);
  if (found != cache.end()) return found->second;
  std::set<std::string>& names = cache[command];
  cli_test::Result help = cli_test::flowmatch(command + " --help");
  // An unknown command's --help prints the top-level help: its usage line names no command.
  if (help.exit_code != 0 || !std::regex_search(help.output, std::regex("Usage: \\S*flowmatch " + command + " ")))
    return names;
  for (const std::string& line : lines_of(help.output)) {
    size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || line[start] != '-') continue;
    std::string first_column = line.substr(start, line.find(' ', start) - start);
    for (const std::string& name : option_names_in(first_column)) names.insert(name);
  }
  return names;
}

// The commands `flowmatch --help` lists under "Subcommands:".
std::vector<std::string> command_names() {
  std::vector<std::string> names;
  bool listed = false;
  for (const std::string& line : lines_of(cli_test::flowmatch("--help").output)) {
    if (line.rfind("Subcommands:", 0) == 0) listed = true;
    else if (listed && line.rfind("  ", 0) == 0) names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

struct DocumentedCommand {
  std::string where;  // file:line
  std::string command;
  std::set<std::string> options;
};

// Every command line in the fenced code blocks of a Markdown file: lines that begin (unindented) with
// `flowmatch CMD` or `build/flowmatch CMD`, joined across trailing backslashes, comments dropped.
// "reflow|distill" in a synopsis stands for both commands.
std::vector<DocumentedCommand> documented_commands(const fs::path& file) {
  static const std::regex invocation(R"(^(?:build/)?flowmatch\s+([a-z|]+)(.*)$)");
  std::vector<DocumentedCommand> found;
  bool in_block = false;
  std::string joined;
  int line_number = 0, first_line = 0;
  for (const std::string& line : lines_of(read_text(file))) {
    ++line_number;
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block;
      continue;
    }
    if (!in_block) continue;
    std::string code = line.substr(0, line.find(" #"));
    if (joined.empty()) first_line = line_number;
    bool continued = !code.empty() && code.back() == '\\';
    joined += continued ? code.substr(0, code.size() - 1) : code;
    if (continued) continue;
    std::smatch match;
    if (std::regex_match(joined, match, invocation)) {
      std::stringstream commands(match[1].str());
      for (std::string command; std::getline(commands, command, '|');)
        found.push_back({file.filename().string() + ":" + std::to_string(first_line), command,
                         option_names_in(match[2].str())});
    }
    joined.clear();
  }
  return found;
}

std::vector<fs::path> documentation_files() {
  std::vector<fs::path> files = {fs::path(FLOWMATCH_SOURCE_DIR) / "README.md"};
  for (const auto& entry : fs::directory_iterator(fs::path(FLOWMATCH_SOURCE_DIR) / "docs"))
    if (entry.path().extension() == ".md") files.push_back(entry.path());
  return files;
}

TEST(Docs, EveryDocumentedCommandLineUsesOptionsItsHelpLists) {
  int checked = 0;
  for (const fs::path& file : documentation_files()) {
    for (const DocumentedCommand& documented : documented_commands(file)) {
      const std::set<std::string>& known = help_options(documented.command);
      EXPECT_FALSE(known.empty()) << documented.where << ": flowmatch " << documented.command << " is not a command";
      if (known.empty()) continue;
      for (const std::string& option : documented.options)
        EXPECT_TRUE(known.count(option)) << documented.where << ": flowmatch " << documented.command
                                         << " --help does not list " << option;
      ++checked;
    }
  }
  EXPECT_GT(checked, 40) << "the docs' code blocks should hold the tour and every command's examples";
}

TEST(Docs, CliMdMentionsEveryOptionOfEachCommandsHelp) {
  // docs/cli.md: a preamble (options every command takes), then "## `flowmatch CMD`" sections; a
  // section titled with two commands documents both, and one that says it takes "every `train`
  // option" (or "the model options of `train`") documents train's as well.
  static const std::regex section_title(R"(^## .*`flowmatch [a-z]+`)");
  static const std::regex takes_train_options(R"(options? of `train`|every `train` option)");
  static const std::regex command_in_title(R"(`flowmatch ([a-z]+)`)");
  std::string preamble;
  std::map<std::string, std::string> section_of;
  std::vector<std::string> current;
  for (const std::string& line : lines_of(read_text(fs::path(FLOWMATCH_SOURCE_DIR) / "docs/cli.md"))) {
    if (std::regex_search(line, section_title)) {
      current.clear();
      for (std::sregex_iterator it(line.begin(), line.end(), command_in_title), end; it != end; ++it)
        current.push_back((*it)[1].str());
    } else if (line.rfind("## ", 0) == 0) {
      current.clear();
    }
    if (current.empty() && section_of.empty()) preamble += line + "\n";
    for (const std::string& command : current) section_of[command] += line + "\n";
  }
  const std::set<std::string> everywhere = option_names_in(preamble);
  const std::vector<std::string> commands = command_names();
  EXPECT_GE(commands.size(), 10u) << "flowmatch --help should list its commands";
  for (const std::string& command : commands) {
    ASSERT_TRUE(section_of.count(command)) << "docs/cli.md has no section for flowmatch " << command;
    std::set<std::string> documented = option_names_in(section_of[command]);
    if (std::regex_search(section_of[command], takes_train_options))
      for (const std::string& option : option_names_in(section_of["train"])) documented.insert(option);
    const std::set<std::string>& listed = help_options(command);
    ASSERT_FALSE(listed.empty()) << "flowmatch " << command << " --help failed";
    for (const std::string& option : listed)
      if (option != "--help" && !everywhere.count(option))
        EXPECT_TRUE(documented.count(option)) << "docs/cli.md's section on flowmatch " << command << " does not mention "
                                              << option << ", which its --help lists";
  }
}

}  // namespace

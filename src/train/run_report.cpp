#include "flowmatch/train/run_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "flowmatch/core/error.h"
#include "flowmatch/figures/svg_chart.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/base64.h"
#include "flowmatch/train/run_dir.h"

namespace flowmatch {

namespace {
namespace fs = std::filesystem;

// config.toml's lines "key=value" (a string value quoted), after its comment line.
std::vector<std::pair<std::string, std::string>> read_settings(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> settings;
  if (!fs::exists(path)) return settings;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line);) {
    size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    settings.emplace_back(line.substr(0, eq), value);
  }
  return settings;
}

// The order curves are shown in: the loss, the held-out loss, the evaluations, then the rest.
int curve_rank(const std::string& name) {
  if (name == "loss") return 0;
  if (name == "validation_loss") return 1;
  if (name.rfind("eval_", 0) == 0) return 2;
  return 3;
}
// Fields that are bookkeeping, not measures of the run.
bool charted(const std::string& name) { return name != "step" && name != "best_step" && name != "best_eval_step"; }

std::string format_value(const nlohmann::json& value) {
  if (!value.is_number()) return value.is_string() ? value.get<std::string>() : value.dump();
  if (value.is_number_integer()) return std::to_string(value.get<int64_t>());
  char text[32];
  std::snprintf(text, sizeof text, "%.5g", value.get<double>());
  return text;
}

const char* kStyle = R"(
:root { color-scheme: light; --ink: #1a1a1a; --muted: #666; --line: #ddd; --mark: #fff3c4; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fafafa; }
header, section, footer { max-width: 1400px; margin: 0 auto; padding: 12px 16px; }
h1 { font-size: 1.4rem; margin: 8px 0 4px; } h2 { font-size: 1.15rem; margin: 16px 0 8px; }
p.meta, footer { color: var(--muted); font-size: 0.85rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 440px), 1fr)); gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px; min-width: 0; }
figcaption { font-size: 0.85rem; color: var(--muted); margin-top: 4px; overflow-wrap: anywhere; }
figure img { width: 100%; height: auto; display: block; image-rendering: pixelated; }
svg.chart { width: 100%; height: auto; display: block; font-size: 13px; }
svg.chart text { fill: var(--ink); } svg.chart .chart-title { font-weight: 600; font-size: 14px; }
svg.chart .frame { fill: none; stroke: #999; } svg.chart .grid { stroke: #eee; } svg.chart .tick { stroke: #999; }
svg.chart .series polyline { stroke-width: 2; } svg.chart .legend { font-size: 12px; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs td, tr.differs th { background: var(--mark); } tr.differs th::after { content: " \2260"; color: #b26b00; }
@media (max-width: 600px) {  /* a phone: the charts' text grows as they shrink to its width */
  body { font-size: 14px; } header, section, footer { padding: 8px 10px; }
  svg.chart { font-size: 22px; } svg.chart .chart-title { font-size: 24px; } svg.chart .legend { font-size: 20px; }
  svg.chart .x-label, svg.chart .y-label { display: none; }  /* the title names them; the ticks need the room */
}
)";

// Checks, once the page has loaded, that every picture decoded and every chart drew; the result
// goes on <body> as data-* attributes (a test in a headless browser reads them) and in the footer.
const char* kSelfCheck = R"(
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (img) { return !img.complete || img.naturalWidth === 0; }).length;
  var charts = document.querySelectorAll('svg.chart polyline').length;
  var wide = document.documentElement.scrollWidth > window.innerWidth + 1;
  document.body.dataset.images = images.length; document.body.dataset.brokenImages = broken;
  document.body.dataset.curves = charts; document.body.dataset.overflows = wide ? 'yes' : 'no';
  document.getElementById('check').textContent = images.length + ' pictures (' + broken + ' broken), ' + charts + ' curves drawn.';
});
)";

std::string scores_table(const std::vector<RunSummary>& runs) {
  std::vector<std::string> columns = {"step", "elapsed_s", "loss", "validation_loss"};
  std::set<std::string> evals;
  for (const RunSummary& run : runs)
    for (const auto& [name, value] : run.latest)
      if (name.rfind("eval_", 0) == 0 || name == "best_eval_step") evals.insert(name);
  columns.insert(columns.end(), evals.begin(), evals.end());
  std::vector<std::string> shown;  // the columns some run has
  for (const std::string& c : columns)
    if (std::any_of(runs.begin(), runs.end(), [&](const RunSummary& r) { return r.latest.count(c) > 0; })) shown.push_back(c);
  std::ostringstream html;
  html << "<div class=\"scroll\"><table><thead><tr><th>run</th>";
  for (const std::string& c : shown) html << "<th>" << escape_xml(c) << "</th>";
  html << "</tr></thead><tbody>\n";
  for (const RunSummary& run : runs) {
    html << "<tr><th>" << escape_xml(run.name) << "</th>";
    for (const std::string& c : shown) {
      auto it = run.latest.find(c);
      html << "<td class=\"number\">" << (it == run.latest.end() ? "" : escape_xml(format_value(it->second))) << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</tbody></table></div>\n";
  return html.str();
}

std::string curve_charts(const std::vector<RunSummary>& runs) {
  std::vector<std::string> names;
  for (const RunSummary& run : runs)
    for (const LineSeries& curve : run.curves)
      if (std::find(names.begin(), names.end(), curve.name) == names.end()) names.push_back(curve.name);
  std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return curve_rank(a) < curve_rank(b); });
  std::ostringstream html;
  html << "<div class=\"grid\">\n";
  for (const std::string& name : names) {
    std::vector<LineSeries> series;
    bool positive = true;
    double low = INFINITY, high = 0;
    for (const RunSummary& run : runs) {
      auto curve = std::find_if(run.curves.begin(), run.curves.end(), [&](const LineSeries& c) { return c.name == name; });
      LineSeries s{runs.size() > 1 ? run.name : "", {}, {}};
      if (curve != run.curves.end()) s = LineSeries{s.name, curve->x, curve->y};
      for (double y : s.y) {
        positive = positive && y > 0;
        low = std::min(low, y);
        high = std::max(high, y);
      }
      series.push_back(s);
    }
    if (std::all_of(series.begin(), series.end(), [](const LineSeries& s) { return s.x.empty(); })) continue;
    bool log_y = positive && high > 10 * low;  // spanning a decade or more
    html << "<figure>" << svg_line_chart(series, log_y ? name + " (log scale)" : name, "step", name, log_y) << "</figure>\n";
  }
  html << "</div>\n";
  return html.str();
}

std::string pictures(const std::vector<RunSummary>& runs) {
  std::ostringstream html;
  html << "<div class=\"grid\">\n";
  for (const RunSummary& run : runs)
    for (const auto& [file, bytes] : run.pictures)
      html << "<figure><img alt=\"" << escape_xml(run.name + " " + file) << "\" src=\"data:image/png;base64," << base64(bytes)
           << "\"><figcaption>" << escape_xml(run.name) << ": " << escape_xml(file) << "</figcaption></figure>\n";
  html << "</div>\n";
  return html.str();
}

std::string settings_table(const std::vector<RunSummary>& runs) {
  std::vector<std::string> keys;
  for (const RunSummary& run : runs)
    for (const auto& [key, value] : run.settings)
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  auto value_of = [](const RunSummary& run, const std::string& key) -> std::string {
    for (const auto& [k, v] : run.settings)
      if (k == key) return v;
    return "(not set)";
  };
  std::vector<std::string> differing;
  std::ostringstream rows;
  for (const std::string& key : keys) {
    bool differs = std::any_of(runs.begin(), runs.end(), [&](const RunSummary& r) { return value_of(r, key) != value_of(runs[0], key); });
    if (differs && key != "out") differing.push_back(key);
    rows << "<tr" << (differs ? " class=\"differs\"" : "") << "><th>" << escape_xml(key) << "</th>";
    for (const RunSummary& run : runs) rows << "<td>" << escape_xml(value_of(run, key)) << "</td>";
    rows << "</tr>\n";
  }
  std::ostringstream html;
  if (runs.size() > 1) {
    std::string list;
    for (const std::string& key : differing) list += (list.empty() ? "" : ", ") + key;
    html << "<p>" << (differing.empty() ? "The runs' settings are the same but for their folders."
                                        : "Settings that differ (marked): " + escape_xml(list) + ".")
         << "</p>\n";
  }
  html << "<div class=\"scroll\"><table><thead><tr><th>setting</th>";
  for (const RunSummary& run : runs) html << "<th>" << escape_xml(run.name) << "</th>";
  html << "</tr></thead><tbody>\n" << rows.str() << "</tbody></table></div>\n";
  return html.str();
}
}  // namespace

RunSummary read_run_summary(const std::string& dir) {
  if (!fs::is_directory(dir)) throw Error(dir + " is not a run folder (no such folder)");
  const std::string metrics = dir + "/" + RunDir::kMetrics;
  if (!fs::exists(metrics)) throw Error(dir + " is not a run folder: it has no " + RunDir::kMetrics);
  RunSummary run;
  run.dir = dir;
  run.name = fs::path(dir).lexically_normal().filename().string();
  if (run.name.empty()) run.name = fs::path(dir).lexically_normal().parent_path().filename().string();
  run.settings = read_settings(dir + "/" + RunDir::kConfig);
  std::ifstream lines(metrics);
  int64_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object() || !entry.contains("step") || !entry["step"].is_number())
      throw Error(metrics + ":" + std::to_string(number) + " is not a JSON object with a step");
    const double step = entry["step"].get<double>();
    for (const auto& [name, value] : entry.items()) {
      run.latest[name] = value;
      if (!value.is_number() || !charted(name)) continue;
      auto curve = std::find_if(run.curves.begin(), run.curves.end(), [&](const LineSeries& c) { return c.name == name; });
      if (curve == run.curves.end()) curve = run.curves.insert(run.curves.end(), LineSeries{name, {}, {}});
      curve->x.push_back(step);
      curve->y.push_back(value.get<double>());
    }
    run.last = entry;
  }
  if (run.last.is_null()) throw Error(metrics + " is empty: the run logged nothing yet");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".png") files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end(), [](const std::string& a, const std::string& b) {  // the samples first
    return std::make_pair(a != RunDir::kSamples, a) < std::make_pair(b != RunDir::kSamples, b);
  });
  for (const std::string& file : files) run.pictures.emplace_back(file, read_file(dir + "/" + file));
  return run;
}

std::string run_report_html(const std::vector<RunSummary>& given, const std::string& generated) {
  if (given.empty()) throw Error("a report needs at least one run");
  std::vector<RunSummary> runs = given;
  for (RunSummary& run : runs)  // runs whose folders share a name are named by the paths given
    if (std::count_if(runs.begin(), runs.end(), [&](const RunSummary& r) { return fs::path(r.dir).filename() == fs::path(run.dir).filename(); }) > 1)
      run.name = run.dir;
  std::string names;
  for (const RunSummary& run : runs) names += (names.empty() ? "" : ", ") + run.name;
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
          "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
       << "<title>flowmatch report: " << escape_xml(names) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n"
       << "<header><h1>flowmatch report</h1><p class=\"meta\">" << runs.size() << (runs.size() == 1 ? " run: " : " runs: ")
       << escape_xml(names) << ". Generated " << escape_xml(generated) << ".</p></header>\n"
       << "<section id=\"scores\"><h2>Latest scores</h2>\n" << scores_table(runs) << "</section>\n"
       << "<section id=\"curves\"><h2>Curves</h2>\n" << curve_charts(runs) << "</section>\n"
       << "<section id=\"pictures\"><h2>Samples and figures</h2>\n" << pictures(runs) << "</section>\n"
       << "<section id=\"settings\"><h2>Settings</h2>\n" << settings_table(runs) << "</section>\n"
       << "<footer><p>Written by <code>flowmatch report</code> from each run's config.toml, metrics.jsonl and "
          "pictures. <span id=\"check\"></span></p></footer>\n"
       << "<script>" << kSelfCheck << "</script>\n</body>\n</html>\n";
  return html.str();
}

}  // namespace flowmatch

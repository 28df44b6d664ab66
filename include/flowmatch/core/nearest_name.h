#pragma once
#include <string>
#include <vector>

namespace flowmatch {

// The name in `names` that `given` most likely misspells (for "did you mean ...?"): the one at the
// smallest edit distance (insertions, deletions, substitutions and swaps of neighbours, case
// ignored), if that distance is at most a third of the name's length (at least 1, at most 3);
// otherwise "".
std::string nearest_name(const std::string& given, const std::vector<std::string>& names);

// "; did you mean NAME?" for the nearest name, or "".
std::string did_you_mean(const std::string& given, const std::vector<std::string>& names);

}  // namespace flowmatch

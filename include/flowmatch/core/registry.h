#pragma once
#include <string>
#include <utility>
#include <vector>

#include "flowmatch/core/error.h"
#include "flowmatch/core/nearest_name.h"

namespace flowmatch {

// "a", "a or b", "a, b or c": names as an error message or a help line lists them.
inline std::string join_names(const std::vector<std::string>& names) {
  std::string joined;
  for (size_t i = 0; i < names.size(); ++i) joined += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return joined;
}

// The components of one kind (models, schedulers, couplings, objectives, ...) by name: one table
// per kind, in that kind's registry file, so that a new component is one more entry. Every kind is
// picked the same way, and an unknown name is an Error that lists the known ones.
template <typename Factory>
class Registry {
 public:
  struct Entry {
    std::string name;
    Factory make;
  };
  Registry(std::string kind, std::vector<Entry> entries) : kind_(std::move(kind)), entries_(std::move(entries)) {}

  // The factory of `name`; throws Error("unknown <kind> '<name>'; did you mean ...? (choose ...)").
  const Factory& operator[](const std::string& name) const {
    for (const auto& entry : entries_)
      if (entry.name == name) return entry.make;
    throw Error("unknown " + kind_ + " '" + name + "'" + did_you_mean(name, names()) + " (choose " + join_names(names()) + ")");
  }
  bool contains(const std::string& name) const {
    for (const auto& entry : entries_)
      if (entry.name == name) return true;
    return false;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> all;
    for (const auto& entry : entries_) all.push_back(entry.name);
    return all;
  }

 private:
  std::string kind_;
  std::vector<Entry> entries_;
};

}  // namespace flowmatch

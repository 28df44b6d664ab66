// Precompiled header: <torch/torch.h> costs ~20 s per translation unit to parse, so every target
// parses it once here and reuses the result.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

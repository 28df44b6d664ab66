// Reading torch.save files: the state_dicts the twin saved (tests/goldens/*.pt, written by
// bench/reference/make_goldens.py) hold exactly the tensors of its goldens, and pickles that would
// run code, or that lie about their tensors, are refused by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"
#include "flowmatch/io/safe_unpickler.h"
#include "flowmatch/io/safetensors.h"
#include "flowmatch/io/torch_state_dict.h"
#include "test_util.h"

namespace flowmatch {
namespace {

using testing::error_of;
using testing::TempDir;

std::string golden(const std::string& name) { return std::string(FLOWMATCH_GOLDENS) + "/" + name; }

// Every tensor of `golden_file` named prefix + NAME equals `state`'s NAME, in the same order.
void expect_same_tensors(const Safetensors& state, const Safetensors& golden_file, const std::string& prefix) {
  size_t matched = 0;
  for (const auto& [name, tensor] : golden_file.tensors) {
    if (name.rfind(prefix, 0) != 0) continue;
    ASSERT_LT(matched, state.tensors.size());
    EXPECT_EQ(state.tensors[matched].first, name.substr(prefix.size()));
    EXPECT_TRUE(torch::equal(state.tensors[matched].second, tensor)) << name;
    ++matched;
  }
  EXPECT_GT(matched, 0u);
}

TEST(TorchStateDict, ASeedMlpStateDictHoldsTheTwinsWeights) {
  Safetensors state = read_torch_state_dict(golden("seed-mlp.pt"));
  EXPECT_EQ(state.tensors.size(), 10u);  // in, t, 2 blocks, out: weight and bias each
  expect_same_tensors(state, read_safetensors(golden("seed-mlp.safetensors")), "model.");
}

TEST(TorchStateDict, ACheckpointsKeyPicksItsStateDict) {
  Safetensors golden_file = read_safetensors(golden("mlp.safetensors"));
  Safetensors state = read_torch_state_dict(golden("mlp-checkpoint.pt"), "model");
  // The Fourier basis (the model's own buffer, so first), then the parameters after the twin's 10 AdamW steps.
  EXPECT_EQ(state.tensors.front().first, "fourier_basis");
  EXPECT_TRUE(torch::equal(state.tensors.front().second, golden_file.at("model.fourier_basis")));
  Safetensors parameters;
  parameters.tensors.assign(state.tensors.begin() + 1, state.tensors.end());
  expect_same_tensors(parameters, golden_file, "adamw.");

  std::string path = golden("mlp-checkpoint.pt");
  EXPECT_NE(error_of([&] { read_torch_state_dict(path); }).find("choose the state_dict with --key (its keys: 'model', 'optimizer', 'step')"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_torch_state_dict(path, "ema"); }).find("has no key 'ema' (its keys: 'model', 'optimizer', 'step')"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_torch_state_dict(path, "step"); }).find("'step' holds a int, not a state_dict"), std::string::npos);
  // The optimizer's state_dict holds lists and numbers, so it reads, and is refused as weights.
  EXPECT_NE(error_of([&] { read_torch_state_dict(path, "optimizer"); }).find("'state' holds a dict, not a tensor"),
            std::string::npos);
}

TEST(TorchStateDict, APickleThatWouldRunCodeIsRefusedByName) {
  std::filesystem::remove("/tmp/flowmatch-pickle-ran-code");
  std::string message = error_of([] { read_torch_state_dict(golden("refused.pt")); });
  EXPECT_NE(message.find("asks for 'posix.system', which a state_dict does not hold"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists("/tmp/flowmatch-pickle-ran-code"));
}

TEST(TorchStateDict, BrokenFilesAreRefusedWithTheReason) {
  TempDir dir;
  std::string bytes = read_file(golden("seed-mlp.pt"));
  std::string truncated = dir.file("truncated.pt"), text = dir.file("text.pt"), legacy = dir.file("legacy.pt");
  std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(text) << "weights\n";
  std::ofstream(legacy, std::ios::binary) << "\x80\x02 the legacy format starts with a pickle";
  EXPECT_NE(error_of([&] { read_torch_state_dict(truncated); }).find("cannot be read as a torch.save archive"), std::string::npos);
  EXPECT_NE(error_of([&] { read_torch_state_dict(text); }).find("is not a torch.save file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_torch_state_dict(legacy); }).find("legacy format"), std::string::npos);
  EXPECT_NE(error_of([&] { read_torch_state_dict(dir.file("missing.pt")); }).find("cannot open"), std::string::npos);
}

// Pickles written by hand: what the unpickler refuses, and what it reads.
at::Tensor storage_of(const std::string&, at::ScalarType dtype, int64_t numel) {
  return torch::arange(numel, torch::TensorOptions().dtype(dtype));
}

std::string unpickle_error(const std::string& pickle) {
  return error_of([&] { unpickle_data(pickle, storage_of, "p"); });
}

// Pickle pieces (protocol 2).
std::string pickle(const std::string& body) { return "\x80\x02" + body + "."; }  // PROTO 2, body, STOP
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string small(int value) { return "K" + std::string(1, char(value)); }  // BININT1
std::string text(const std::string& value) {                                 // BINUNICODE
  std::string length(4, '\0');
  for (int i = 0; i < 4; ++i) length[i] = char((value.size() >> (8 * i)) & 0xff);
  return "X" + length + value;
}
std::string tuple1(int value) { return small(value) + "\x85"; }  // (value,)

// _rebuild_tensor_v2(<4-element float storage>, offset, (size,), (stride,), False, ())
std::string tensor_pickle(int offset, int size, int stride) {
  std::string storage_id = "(" + text("storage") + global("torch", "FloatStorage") + text("0") + text("cpu") + small(4) + "tQ";
  return pickle(global("torch._utils", "_rebuild_tensor_v2") + "(" + storage_id + small(offset) + tuple1(size) +
                tuple1(stride) + "\x89)tR");
}

TEST(SafeUnpickler, RefusesOpcodesAndGlobalsThatRunCode) {
  EXPECT_NE(unpickle_error(pickle(global("builtins", "eval"))).find("asks for 'builtins.eval'"), std::string::npos);
  EXPECT_NE(unpickle_error(pickle("(" + global("os", "system") + text("ls") + "o")).find("asks for 'os.system'"),
            std::string::npos);
  EXPECT_NE(unpickle_error(pickle("(" + text("x") + "i__main__\nThing\n")).find("opcode INST (0x69)"), std::string::npos);
  EXPECT_NE(unpickle_error(pickle("N)\x81")).find("opcode NEWOBJ (0x81)"), std::string::npos);
  EXPECT_NE(unpickle_error(pickle(small(1) + small(2))).find("ends with 2 values on its stack"), std::string::npos);
  EXPECT_NE(unpickle_error("\x80\x02K").find("truncated"), std::string::npos);
  EXPECT_NE(unpickle_error(pickle("h\x05")).find("memo entry 5"), std::string::npos);
  EXPECT_NE(unpickle_error(tensor_pickle(0, 5, 1)).find("reads past its storage's 4 elements"), std::string::npos);
}

TEST(SafeUnpickler, ReadsTensorsDictsAndNumbers) {
  // storage [0, 1, 2, 3], offset 1, size 2, stride 2: [1, 3]
  Unpickled tensor = unpickle_data(tensor_pickle(1, 2, 2), storage_of, "p");
  ASSERT_EQ(tensor.root.kind, PickleValue::Kind::Tensor);
  EXPECT_TRUE(torch::equal(tensor.root.tensor, torch::tensor({1.0f, 3.0f})));
  // {"a": [1.5, -2, True]}: EMPTY_DICT, key, EMPTY_LIST, MARK, BINFLOAT, BININT, NEWTRUE, APPENDS, SETITEM
  std::string one_and_a_half("G?\xf8\0\0\0\0\0\0", 9), minus_two("J\xfe\xff\xff\xff", 5);
  Unpickled dict = unpickle_data(pickle("}" + text("a") + "](" + one_and_a_half + minus_two + "\x88" "es"), storage_of, "p");
  ASSERT_EQ(dict.root.kind, PickleValue::Kind::Dict);
  const PickleValue& list = (*dict.root.items)[1];
  ASSERT_EQ(list.items->size(), 3u);
  EXPECT_EQ((*list.items)[0].real, 1.5);
  EXPECT_EQ((*list.items)[1].integer, -2);
  EXPECT_EQ((*list.items)[2].kind, PickleValue::Kind::Bool);
  // A dict that holds itself (through the memo) must neither loop nor leak.
  Unpickled cycle = unpickle_data(pickle("}q\x01" + text("self") + "h\x01s"), storage_of, "p");
  EXPECT_EQ((*cycle.root.items)[1].items, cycle.root.items);
}

}  // namespace
}  // namespace flowmatch

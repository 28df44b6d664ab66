#include "flowmatch/io/safe_unpickler.h"

#include <ATen/Functions.h>

#include <cstring>
#include <map>
#include <unordered_map>

#include "flowmatch/core/error.h"

namespace flowmatch {

const char* PickleValue::kind_name() const {
  static const char* names[] = {"None", "bool", "int", "float", "str", "tuple", "list", "dict", "global", "storage", "tensor"};
  return names[int(kind)];
}

namespace {

using Kind = PickleValue::Kind;

// The storage classes a state_dict names, and their element types.
const std::map<std::string, at::ScalarType>& storage_types() {
  static const std::map<std::string, at::ScalarType> types = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble}, {"torch.HalfStorage", at::kHalf},
      {"torch.BFloat16Storage", at::kBFloat16}, {"torch.LongStorage", at::kLong}, {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},     {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool}};
  return types;
}

// The only functions a pickle may name: they build a dict or a tensor, and here they are not
// called but read as data.
bool allowed_global(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_parameter" || storage_types().count(name) > 0;
}

// Names of opcodes a state_dict never uses, for the refusal message.
const char* opcode_name(uint8_t op) {
  static const std::map<uint8_t, const char*> names = {
      {'i', "INST"},        {'o', "OBJ"},          {0x81, "NEWOBJ"},    {0x92, "NEWOBJ_EX"}, {'P', "PERSID"},
      {'S', "STRING"},      {'T', "BINSTRING"},    {'U', "SHORT_BINSTRING"}, {'V', "UNICODE"}, {'I', "INT"},
      {'L', "LONG"},        {'F', "FLOAT"},        {'g', "GET"},         {'p', "PUT"},        {0x82, "EXT1"},
      {0x83, "EXT2"},       {0x84, "EXT4"},        {0x8b, "LONG4"},      {'B', "BINBYTES"},   {'C', "SHORT_BINBYTES"},
      {0x8e, "BINBYTES8"},  {0x8f, "EMPTY_SET"},   {0x90, "ADDITEMS"},   {0x91, "FROZENSET"}, {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"}, {0x98, "READONLY_BUFFER"}, {'0', "POP"},    {'1', "DUP"},        {'2', "POP_MARK"}};
  auto it = names.find(op);
  return it == names.end() ? "unknown" : it->second;
}

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const StorageLoader& load_storage, const std::string& name)
      : bytes_(bytes), load_storage_(load_storage), name_(name) {}

  Unpickled run() {
    while (true) {
      size_t at = pos_;
      uint8_t op = byte();
      switch (op) {
        case 0x80: proto(); break;                            // PROTO
        case 0x95: take(8); break;                            // FRAME: a length hint
        case '.': return {stop(), std::move(containers_)};   // STOP
        case 'N': push({}); break;                            // NONE
        case 0x88: push(boolean(true)); break;                // NEWTRUE
        case 0x89: push(boolean(false)); break;               // NEWFALSE
        case 'J': push(integer(int32_t(little(4)))); break;   // BININT
        case 'K': push(integer(int64_t(little(1)))); break;   // BININT1
        case 'M': push(integer(int64_t(little(2)))); break;   // BININT2
        case 0x8a: push(integer(long1())); break;             // LONG1
        case 'G': push(real()); break;                        // BINFLOAT
        case 'X': push(string(little(4))); break;             // BINUNICODE
        case 0x8c: push(string(little(1))); break;            // SHORT_BINUNICODE
        case 0x8d: push(string(little(8))); break;            // BINUNICODE8
        case 'c': {                                           // GLOBAL module\nname\n
          std::string module = line();
          push(global(module, line()));
          break;
        }
        case 0x93: stack_global(); break;                     // STACK_GLOBAL
        case 'q': memo_[uint32_t(little(1))] = top(); break;  // BINPUT
        case 'r': memo_[uint32_t(little(4))] = top(); break;  // LONG_BINPUT
        case 0x94: memo_[uint32_t(memo_.size())] = top(); break;  // MEMOIZE
        case 'h': push(memo(little(1))); break;               // BINGET
        case 'j': push(memo(little(4))); break;               // LONG_BINGET
        case '(': marks_.push_back(stack_.size()); break;     // MARK
        case ')': push(sequence(Kind::Tuple, {})); break;     // EMPTY_TUPLE
        case 't': push(sequence(Kind::Tuple, pop_to_mark())); break;  // TUPLE
        case 0x85: push(sequence(Kind::Tuple, pop_n(1))); break;      // TUPLE1
        case 0x86: push(sequence(Kind::Tuple, pop_n(2))); break;      // TUPLE2
        case 0x87: push(sequence(Kind::Tuple, pop_n(3))); break;      // TUPLE3
        case ']': push(sequence(Kind::List, {})); break;              // EMPTY_LIST
        case 'l': push(sequence(Kind::List, pop_to_mark())); break;   // LIST
        case 'a': append(pop_n(1)); break;                            // APPEND
        case 'e': append(pop_to_mark()); break;                       // APPENDS
        case '}': push(sequence(Kind::Dict, {})); break;              // EMPTY_DICT
        case 'd': push(dict(pop_to_mark())); break;                   // DICT
        case 's': set_items(pop_n(2)); break;                         // SETITEM
        case 'u': set_items(pop_to_mark()); break;                    // SETITEMS
        case 'Q': push(persistent_load(pop())); break;                // BINPERSID
        case 'R': reduce(); break;                                    // REDUCE
        case 'b': build(); break;                                     // BUILD
        default:
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("pickle opcode ") + opcode_name(op) + " (" + hex + ") at byte " + std::to_string(at) +
               " is not one a state_dict uses; refusing the file");
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(name_ + ": " + what); }

  // Reading the stream.
  const char* take(size_t n) {
    if (n > bytes_.size() - pos_) fail("the pickle is truncated at byte " + std::to_string(bytes_.size()));
    const char* start = bytes_.data() + pos_;
    pos_ += n;
    return start;
  }
  uint8_t byte() { return uint8_t(*take(1)); }
  uint64_t little(size_t n) {  // an n-byte little-endian unsigned integer
    const char* p = take(n);
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= uint64_t(uint8_t(p[i])) << (8 * i);
    return value;
  }
  int64_t long1() {  // LONG1: n bytes of little-endian two's complement
    size_t n = byte();
    if (n > 8) fail("an integer of " + std::to_string(n) + " bytes does not fit in 64 bits");
    if (n == 0) return 0;
    uint64_t value = little(n);
    if (n < 8 && (value >> (8 * n - 1)) & 1) value |= ~uint64_t(0) << (8 * n);  // sign-extend
    return int64_t(value);
  }
  std::string line() {
    size_t end = bytes_.find('\n', pos_);
    if (end == std::string::npos) fail("the pickle is truncated inside a GLOBAL");
    std::string text = bytes_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return text;
  }
  void proto() {
    int version = byte();
    if (version < 2 || version > 5) fail("pickle protocol " + std::to_string(version) + " is not one torch.save writes");
  }

  // Values.
  static PickleValue boolean(bool value) {
    PickleValue v;
    v.kind = Kind::Bool;
    v.integer = value;
    return v;
  }
  static PickleValue integer(int64_t value) {
    PickleValue v;
    v.kind = Kind::Int;
    v.integer = value;
    return v;
  }
  PickleValue real() {  // BINFLOAT: 8 bytes, big-endian IEEE 754
    const char* p = take(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = bits << 8 | uint8_t(p[i]);
    PickleValue v;
    v.kind = Kind::Float;
    std::memcpy(&v.real, &bits, sizeof bits);
    return v;
  }
  PickleValue string(uint64_t length) {
    PickleValue v;
    v.kind = Kind::String;
    v.text.assign(take(length), length);
    return v;
  }
  PickleValue sequence(Kind kind, std::vector<PickleValue> items) {
    PickleValue v;
    v.kind = kind;
    v.items = &containers_->emplace_back(std::move(items));
    return v;
  }
  PickleValue dict(std::vector<PickleValue> pairs) {
    if (pairs.size() % 2) fail("a dict has a key without a value");
    return sequence(Kind::Dict, std::move(pairs));
  }
  PickleValue global(const std::string& module, const std::string& attribute) {
    std::string name = module + "." + attribute;
    if (!allowed_global(name))
      fail("the pickle asks for '" + name + "', which a state_dict does not hold; only tensors, dicts and numbers "
           "are read, and no code runs from a file, so the file is refused");
    PickleValue v;
    v.kind = Kind::Global;
    v.text = name;
    return v;
  }
  void stack_global() {
    std::vector<PickleValue> names = pop_n(2);
    if (names[0].kind != Kind::String || names[1].kind != Kind::String) fail("STACK_GLOBAL needs two strings");
    push(global(names[0].text, names[1].text));
  }

  // The stack, marks and memo.
  void push(PickleValue value) { stack_.push_back(std::move(value)); }
  const PickleValue& top() const {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) fail("the pickle reads from an empty stack");
    return stack_.back();
  }
  PickleValue pop() { return std::move(pop_n(1)[0]); }
  std::vector<PickleValue> pop_n(size_t n) {
    size_t floor = marks_.empty() ? 0 : marks_.back();
    if (stack_.size() < floor + n) fail("the pickle reads more values than its stack holds");
    std::vector<PickleValue> values(std::make_move_iterator(stack_.end() - n), std::make_move_iterator(stack_.end()));
    stack_.resize(stack_.size() - n);
    return values;
  }
  std::vector<PickleValue> pop_to_mark() {
    if (marks_.empty()) fail("the pickle closes a MARK it never opened");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleValue> values(std::make_move_iterator(stack_.begin() + mark), std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return values;
  }
  PickleValue memo(uint64_t index) {
    auto it = memo_.find(uint32_t(index));
    if (it == memo_.end()) fail("the pickle reads memo entry " + std::to_string(index) + ", which it never stored");
    return it->second;
  }
  PickleValue stop() {
    if (stack_.size() != 1 || !marks_.empty()) fail("the pickle ends with " + std::to_string(stack_.size()) + " values on its stack");
    return pop();
  }

  // Filling lists and dicts.
  void append(std::vector<PickleValue> values) {
    const PickleValue& list = top();
    if (list.kind != Kind::List) fail(std::string("APPEND to a ") + list.kind_name() + ", not a list");
    for (auto& value : values) list.items->push_back(std::move(value));
  }
  void set_items(std::vector<PickleValue> pairs) {
    const PickleValue& target = top();
    if (target.kind != Kind::Dict) fail(std::string("SETITEM on a ") + target.kind_name() + ", not a dict");
    if (pairs.size() % 2) fail("a dict has a key without a value");
    for (auto& value : pairs) target.items->push_back(std::move(value));
  }

  // ('storage', torch.<Type>Storage, key, location, numel): the storage, through load_storage.
  PickleValue persistent_load(const PickleValue& id) {
    const auto* f = id.kind == Kind::Tuple ? id.items : nullptr;
    if (!f || f->size() != 5 || (*f)[0].kind != Kind::String || (*f)[0].text != "storage" || (*f)[1].kind != Kind::Global ||
        !storage_types().count((*f)[1].text) || (*f)[2].kind != Kind::String || (*f)[3].kind != Kind::String ||
        (*f)[4].kind != Kind::Int || (*f)[4].integer < 0)
      fail("a persistent id is not ('storage', torch.<Type>Storage, key, location, numel)");
    PickleValue v;
    v.kind = Kind::Storage;
    v.tensor = load_storage_((*f)[2].text, storage_types().at((*f)[1].text), (*f)[4].integer);
    return v;
  }

  // BUILD sets an object's attributes; the one a state_dict has is its OrderedDict's _metadata
  // (module versions), which is read and dropped.
  void build() {
    PickleValue state = pop();
    if (top().kind != Kind::Dict || state.kind != Kind::Dict)
      fail(std::string("BUILD sets a ") + state.kind_name() + " on a " + top().kind_name() +
           "; only a dict's attributes are read");
  }

  void reduce() {
    PickleValue arguments = pop();
    PickleValue callable = pop();
    if (callable.kind != Kind::Global || arguments.kind != Kind::Tuple) fail("REDUCE needs a global and a tuple");
    const std::vector<PickleValue>& args = *arguments.items;
    if (callable.text == "collections.OrderedDict") {
      if (!args.empty()) fail("OrderedDict is built with arguments");
      return push(sequence(Kind::Dict, {}));
    }
    if (callable.text == "torch._utils._rebuild_parameter") {  // (tensor, requires_grad, hooks)
      if (args.size() != 3 || args[0].kind != Kind::Tensor) fail("_rebuild_parameter needs (tensor, requires_grad, hooks)");
      return push(args[0]);
    }
    if (callable.text == "torch._utils._rebuild_tensor_v2") return push(rebuild_tensor(args));
    fail("'" + callable.text + "' is not called to build anything");
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]): the view
  // storage[offset + sum_i index_i * stride_i], copied out.
  PickleValue rebuild_tensor(const std::vector<PickleValue>& args) {
    if (args.size() < 4 || args[0].kind != Kind::Storage || args[1].kind != Kind::Int || args[2].kind != Kind::Tuple ||
        args[3].kind != Kind::Tuple)
      fail("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)");
    std::vector<int64_t> sizes, strides;
    for (const auto& [from, into] : {std::pair{&args[2], &sizes}, {&args[3], &strides}})
      for (const auto& item : *from->items) {
        if (item.kind != Kind::Int || item.integer < 0) fail("a tensor's size or stride is not a non-negative integer");
        into->push_back(item.integer);
      }
    if (sizes.size() != strides.size()) fail("a tensor has " + std::to_string(sizes.size()) + " sizes but " +
                                             std::to_string(strides.size()) + " strides");
    const at::Tensor& storage = args[0].tensor;
    int64_t offset = args[1].integer, last = offset, numel = 1;  // last: offset + sum_i (size_i - 1) stride_i
    if (offset < 0) fail("a tensor starts at a negative storage offset");
    for (size_t i = 0; i < sizes.size(); ++i) {
      int64_t reach = 0;
      if (__builtin_mul_overflow(numel, sizes[i], &numel) ||
          (sizes[i] > 0 && (__builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) || __builtin_add_overflow(last, reach, &last))))
        fail("a tensor's sizes and strides overflow 64 bits");
    }
    if (numel > 0 && last >= storage.numel())
      fail("a tensor of shape " + c10::str(at::IntArrayRef(sizes)) + " reads past its storage's " +
           std::to_string(storage.numel()) + " elements");
    PickleValue v;
    v.kind = Kind::Tensor;
    v.tensor = numel == 0 ? at::empty(sizes, storage.options())
                          : storage.as_strided(sizes, strides, offset).clone(at::MemoryFormat::Contiguous);
    return v;
  }

  const std::string& bytes_;
  const StorageLoader& load_storage_;
  const std::string& name_;
  size_t pos_ = 0;
  std::vector<PickleValue> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, PickleValue> memo_;
  std::unique_ptr<std::deque<std::vector<PickleValue>>> containers_ = std::make_unique<std::deque<std::vector<PickleValue>>>();
};

}  // namespace

Unpickled unpickle_data(const std::string& bytes, const StorageLoader& load_storage, const std::string& name) {
  return Unpickler(bytes, load_storage, name).run();
}

}  // namespace flowmatch

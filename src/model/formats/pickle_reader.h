// A restricted unpickler for PyTorch checkpoints (the data.pkl inside a torch.save zip). It
// interprets the opcodes that torch.save's pickles use and builds a small tree of plain values;
// it never executes anything. GLOBAL may only name what a state dict needs:
//   collections.OrderedDict                     REDUCE with () -> an empty dict (BUILD ignored)
//   torch._utils._rebuild_tensor_v2             REDUCE -> a tensor record (storage, offset, size, stride)
//   torch._utils._rebuild_parameter             REDUCE -> its tensor argument
//   torch.HalfStorage / FloatStorage / BFloat16Storage   only inside a persistent id
// Anything else (os.system, builtins.eval, any other class), and opcodes that would construct
// objects (INST, OBJ, NEWOBJ, EXT*) are refused, naming the global or opcode and its byte offset.
// Stack, MARK depth, memo and the number of values are bounded; the interpreter is iterative, so a
// deeply nested pickle cannot exhaust the C++ stack.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/status.h"

namespace wisp {

enum class PickleKind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
const char* PickleKindName(PickleKind kind);

// One value. Containers hold pointers into the owning PickleDocument (values may be shared, as the
// memo shares them in Python; a list may even contain itself: consumers walk fixed paths only).
struct PickleValue {
  PickleKind kind = PickleKind::kNone;
  int64_t integer = 0;   // kBool (0/1), kInt; kStorage: numel; kTensor: storage offset (elements)
  double real = 0;       // kFloat
  // kString: the UTF-8 text; kGlobal: "module.name"; kStorage: the key (the zip entry data/<key>).
  std::string str;
  std::string storage_type;  // kStorage: "HalfStorage", "FloatStorage" or "BFloat16Storage"
  std::string location;      // kStorage: "cpu", "cuda:0", ...
  std::vector<const PickleValue*> items;  // kTuple, kList; kTensor: {storage}
  std::vector<std::pair<const PickleValue*, const PickleValue*>> dict;  // kDict, in insertion order
  bool ordered_dict = false;                // kDict made by collections.OrderedDict
  std::vector<int64_t> shape, stride;       // kTensor
  bool requires_grad = false;               // kTensor

  bool is(PickleKind k) const { return kind == k; }
  // kDict: the value of the last item whose key is the string `key` (Python keeps the last), or null.
  const PickleValue* Get(std::string_view key) const;
};

struct PickleLimits {
  size_t max_values = size_t{1} << 21;  // a large-v3 state dict needs ~30k
  size_t max_stack = size_t{1} << 16;   // values on the stack (all MARK frames together)
  size_t max_marks = 1024;              // open MARKs: torch's pickles nest fewer than 10
  size_t max_memo = size_t{1} << 21;
};

// The result of unpickling: owns every value.
class PickleDocument {
 public:
  const PickleValue& root() const { return *root_; }
  size_t value_count() const { return arena_.size(); }

 private:
  friend class PickleMachine;
  std::vector<std::unique_ptr<PickleValue>> arena_;
  const PickleValue* root_ = nullptr;
};

// Unpickles data[0, size) up to its STOP opcode (bytes after it are ignored, as Python does).
// `source` names the pickle in messages, e.g. "tiny.en.pt: archive/data.pkl"; errors read
// "<source>: offset N: <what>".
Result<PickleDocument> ParsePickle(const uint8_t* data, size_t size, const std::string& source,
                                   const PickleLimits& limits = {});

}  // namespace wisp

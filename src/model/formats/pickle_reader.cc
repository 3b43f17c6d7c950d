#include "model/formats/pickle_reader.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace wisp {

const char* PickleKindName(PickleKind kind) {
  switch (kind) {
    case PickleKind::kNone: return "None";
    case PickleKind::kBool: return "bool";
    case PickleKind::kInt: return "int";
    case PickleKind::kFloat: return "float";
    case PickleKind::kString: return "str";
    case PickleKind::kTuple: return "tuple";
    case PickleKind::kList: return "list";
    case PickleKind::kDict: return "dict";
    case PickleKind::kGlobal: return "global";
    case PickleKind::kStorage: return "storage";
    case PickleKind::kTensor: return "tensor";
  }
  return "?";
}

const PickleValue* PickleValue::Get(std::string_view key) const {
  for (size_t i = dict.size(); i-- > 0;) {
    const PickleValue* k = dict[i].first;
    if (k->kind == PickleKind::kString && k->str == key) return dict[i].second;
  }
  return nullptr;
}

namespace {

// pickletools' names, for messages about opcodes we refuse or do not implement.
const char* OpName(uint8_t op) {
  switch (op) {
    case '(': return "MARK";           case '.': return "STOP";           case '0': return "POP";
    case '1': return "POP_MARK";       case '2': return "DUP";            case 'F': return "FLOAT";
    case 'I': return "INT";            case 'J': return "BININT";         case 'K': return "BININT1";
    case 'L': return "LONG";           case 'M': return "BININT2";        case 'N': return "NONE";
    case 'P': return "PERSID";         case 'Q': return "BINPERSID";      case 'R': return "REDUCE";
    case 'S': return "STRING";         case 'T': return "BINSTRING";      case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";        case 'X': return "BINUNICODE";     case 'a': return "APPEND";
    case 'b': return "BUILD";          case 'c': return "GLOBAL";         case 'd': return "DICT";
    case '}': return "EMPTY_DICT";     case 'e': return "APPENDS";        case 'g': return "GET";
    case 'h': return "BINGET";         case 'i': return "INST";           case 'j': return "LONG_BINGET";
    case 'l': return "LIST";           case ']': return "EMPTY_LIST";     case 'o': return "OBJ";
    case 'p': return "PUT";            case 'q': return "BINPUT";         case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";        case 't': return "TUPLE";          case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";       case 'G': return "BINFLOAT";       case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";        case 0x82: return "EXT1";          case 0x83: return "EXT2";
    case 0x84: return "EXT4";          case 0x85: return "TUPLE1";        case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";        case 0x88: return "NEWTRUE";       case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";         case 0x8b: return "LONG4";         case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES"; case 0x8c: return "SHORT_BINUNICODE"; case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";     case 0x8f: return "EMPTY_SET";     case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";     case 0x92: return "NEWOBJ_EX";     case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";       case 0x95: return "FRAME";         case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";   case 0x98: return "READONLY_BUFFER";
  }
  return nullptr;
}

constexpr const char* kOrderedDict = "collections.OrderedDict";
constexpr const char* kRebuildTensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* kRebuildParameter = "torch._utils._rebuild_parameter";
constexpr const char* kStorageTypes[] = {"HalfStorage", "FloatStorage", "BFloat16Storage"};

bool IsStorageGlobal(const std::string& g) {
  if (g.rfind("torch.", 0) != 0) return false;
  for (const char* s : kStorageTypes) {
    if (g.compare(6, std::string::npos, s) == 0) return true;
  }
  return false;
}

bool IsAllowedGlobal(const std::string& g) {
  return g == kOrderedDict || g == kRebuildTensor || g == kRebuildParameter || IsStorageGlobal(g);
}

}  // namespace

// The interpreter: one pass over the opcodes with Python's stack/metastack/memo model.
class PickleMachine {
 public:
  PickleMachine(const uint8_t* data, size_t size, const std::string& source, const PickleLimits& limits)
      : data_(data), size_(size), source_(source), limits_(limits) {}

  Result<PickleDocument> Run();

 private:
  Status Fail(const std::string& what) const {
    return BadInput(source_ + ": offset " + std::to_string(op_offset_) + ": " + what);
  }
  Status Need(size_t n) const {
    if (size_ - pos_ < n) return Fail(std::string(OpName(op_)) + " needs " + std::to_string(n) + " bytes, the pickle ends");
    return Status::Ok();
  }
  uint64_t ReadLe(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }
  Result<PickleValue*> New(PickleKind kind) {
    if (doc_.arena_.size() >= limits_.max_values) {
      return Fail("more than " + std::to_string(limits_.max_values) + " values");
    }
    doc_.arena_.push_back(std::make_unique<PickleValue>());
    doc_.arena_.back()->kind = kind;
    return doc_.arena_.back().get();
  }
  Status Push(PickleValue* v) {
    if (stack_.size() >= limits_.max_stack) return Fail("stack deeper than " + std::to_string(limits_.max_stack));
    stack_.push_back(v);
    return Status::Ok();
  }
  Status PushNew(PickleKind kind, PickleValue** out = nullptr) {
    auto v = New(kind);
    if (!v.ok()) return v.status();
    if (out != nullptr) *out = *v;
    return Push(*v);
  }
  size_t FrameBase() const { return marks_.empty() ? 0 : marks_.back(); }
  // The top value of the current MARK frame (Python's stack after MARK starts empty).
  Status Top(PickleValue** out) const {
    if (stack_.size() <= FrameBase()) return Fail(std::string(OpName(op_)) + " on an empty stack");
    *out = stack_.back();
    return Status::Ok();
  }
  Status Pop(PickleValue** out) {
    WISP_RETURN_IF_ERROR(Top(out));
    stack_.pop_back();
    return Status::Ok();
  }
  Status PopMark(std::vector<PickleValue*>* out) {
    if (marks_.empty()) return Fail(std::string(OpName(op_)) + " without a MARK");
    const size_t base = marks_.back();
    marks_.pop_back();
    out->assign(stack_.begin() + static_cast<ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return Status::Ok();
  }
  Status PushTuple(const std::vector<PickleValue*>& items) {
    PickleValue* t = nullptr;
    WISP_RETURN_IF_ERROR(PushNew(PickleKind::kTuple, &t));
    t->items.assign(items.begin(), items.end());
    return Status::Ok();
  }
  Status Memo(uint64_t index) {
    PickleValue* v = nullptr;
    WISP_RETURN_IF_ERROR(Top(&v));
    if (memo_.size() >= limits_.max_memo && memo_.find(index) == memo_.end()) {
      return Fail("memo larger than " + std::to_string(limits_.max_memo) + " entries");
    }
    memo_[index] = v;
    return Status::Ok();
  }
  Status Recall(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return Fail(std::string(OpName(op_)) + " of memo index " + std::to_string(index) + " that was never set");
    return Push(it->second);
  }
  Status Global(const std::string& module, const std::string& name);
  Status Reduce();
  Status PersistentLoad();
  Status Step();

  const uint8_t* data_;
  size_t size_;
  const std::string& source_;
  const PickleLimits& limits_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  uint8_t op_ = 0;
  bool stopped_ = false;
  PickleDocument doc_;
  std::vector<PickleValue*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleValue*> memo_;
};

Status PickleMachine::Global(const std::string& module, const std::string& name) {
  const std::string g = module + "." + name;
  if (!IsAllowedGlobal(g)) {
    return Fail(std::string(OpName(op_)) + " " + g + " is not allowed (a checkpoint may only name " + kOrderedDict +
                ", " + kRebuildTensor + ", " + kRebuildParameter + " and torch.{Half,Float,BFloat16}Storage)");
  }
  PickleValue* v = nullptr;
  WISP_RETURN_IF_ERROR(PushNew(PickleKind::kGlobal, &v));
  v->str = g;
  return Status::Ok();
}

// REDUCE calls nothing: each allowed callable's effect is reproduced on plain values.
Status PickleMachine::Reduce() {
  PickleValue *args = nullptr, *fn = nullptr;
  WISP_RETURN_IF_ERROR(Pop(&args));
  WISP_RETURN_IF_ERROR(Pop(&fn));
  if (!fn->is(PickleKind::kGlobal)) return Fail(std::string("REDUCE of a ") + PickleKindName(fn->kind) + " is not allowed");
  if (!args->is(PickleKind::kTuple)) return Fail("REDUCE of " + fn->str + " with " + PickleKindName(args->kind) + " arguments");
  const auto& a = args->items;
  if (fn->str == kOrderedDict) {
    if (!a.empty()) return Fail("REDUCE of collections.OrderedDict with arguments (only OrderedDict() is allowed)");
    PickleValue* d = nullptr;
    WISP_RETURN_IF_ERROR(PushNew(PickleKind::kDict, &d));
    d->ordered_dict = true;
    return Status::Ok();
  }
  if (fn->str == kRebuildParameter) {
    if (a.size() != 3 || !a[0]->is(PickleKind::kTensor) || !a[1]->is(PickleKind::kBool) || !a[2]->is(PickleKind::kDict)) {
      return Fail("REDUCE of _rebuild_parameter needs (tensor, bool, dict)");
    }
    return Push(const_cast<PickleValue*>(a[0]));  // the Parameter is its tensor here
  }
  if (fn->str != kRebuildTensor) return Fail("REDUCE of " + fn->str + " is not allowed (it is only a storage type)");
  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  if (a.size() != 6 && a.size() != 7) return Fail("REDUCE of _rebuild_tensor_v2 with " + std::to_string(a.size()) + " arguments (6 or 7 expected)");
  auto int_tuple = [](const PickleValue* t) {
    if (!t->is(PickleKind::kTuple)) return false;
    for (const PickleValue* x : t->items) {
      if (!x->is(PickleKind::kInt)) return false;
    }
    return true;
  };
  if (!a[0]->is(PickleKind::kStorage) || !a[1]->is(PickleKind::kInt) || !int_tuple(a[2]) || !int_tuple(a[3]) ||
      !a[4]->is(PickleKind::kBool) || !a[5]->is(PickleKind::kDict) || (a.size() == 7 && !a[6]->is(PickleKind::kDict))) {
    return Fail("REDUCE of _rebuild_tensor_v2 needs (storage, int, tuple of ints, tuple of ints, bool, dict[, dict])");
  }
  PickleValue* t = nullptr;
  WISP_RETURN_IF_ERROR(PushNew(PickleKind::kTensor, &t));
  t->items = {a[0]};
  t->integer = a[1]->integer;
  for (const PickleValue* x : a[2]->items) t->shape.push_back(x->integer);
  for (const PickleValue* x : a[3]->items) t->stride.push_back(x->integer);
  t->requires_grad = a[4]->integer != 0;
  return Status::Ok();
}

// torch.save's persistent ids: ('storage', <storage type>, key, location, numel). The storage
// itself is the zip entry data/<key>; the checkpoint reader resolves it.
Status PickleMachine::PersistentLoad() {
  PickleValue* pid = nullptr;
  WISP_RETURN_IF_ERROR(Pop(&pid));
  const auto& a = pid->items;
  if (!pid->is(PickleKind::kTuple) || a.size() != 5 || !a[0]->is(PickleKind::kString) || a[0]->str != "storage" ||
      !a[1]->is(PickleKind::kGlobal) || !IsStorageGlobal(a[1]->str) || !a[2]->is(PickleKind::kString) ||
      !a[3]->is(PickleKind::kString) || !a[4]->is(PickleKind::kInt) || a[4]->integer < 0) {
    return Fail("BINPERSID expects ('storage', torch.<Half|Float|BFloat16>Storage, key, location, numel)");
  }
  PickleValue* s = nullptr;
  WISP_RETURN_IF_ERROR(PushNew(PickleKind::kStorage, &s));
  s->storage_type = a[1]->str.substr(6);
  s->str = a[2]->str;
  s->location = a[3]->str;
  s->integer = a[4]->integer;
  return Status::Ok();
}

Status PickleMachine::Step() {
  op_offset_ = pos_;
  op_ = data_[pos_++];
  const char* name = OpName(op_);
  PickleValue *v = nullptr, *k = nullptr, *target = nullptr;
  std::vector<PickleValue*> items;
  switch (op_) {
    case 0x80: {  // PROTO
      WISP_RETURN_IF_ERROR(Need(1));
      const int proto = data_[pos_++];
      if (proto > 5) return Unsupported(source_ + ": offset " + std::to_string(op_offset_) + ": pickle protocol " + std::to_string(proto));
      return Status::Ok();
    }
    case 0x95:  // FRAME: only a length prefix; the framed opcodes follow inline
      WISP_RETURN_IF_ERROR(Need(8));
      if (ReadLe(8) > size_ - pos_) return Fail("FRAME longer than the rest of the pickle");
      return Status::Ok();
    case '.':
      if (!marks_.empty() || stack_.size() != 1) {
        return Fail("STOP with " + std::to_string(stack_.size()) + " values and " + std::to_string(marks_.size()) + " open MARKs");
      }
      doc_.root_ = stack_.back();
      stopped_ = true;
      return Status::Ok();
    case '(':
      if (marks_.size() >= limits_.max_marks) return Fail("more than " + std::to_string(limits_.max_marks) + " nested MARKs");
      marks_.push_back(stack_.size());
      return Status::Ok();
    case '}': return PushNew(PickleKind::kDict);
    case ']': return PushNew(PickleKind::kList);
    case ')': return PushTuple({});
    case 'N': return PushNew(PickleKind::kNone);
    case 0x88:
    case 0x89:
      WISP_RETURN_IF_ERROR(PushNew(PickleKind::kBool, &v));
      v->integer = op_ == 0x88;
      return Status::Ok();
    case 'J': case 'K': case 'M': {  // BININT (signed 32), BININT1, BININT2 (unsigned)
      const size_t n = op_ == 'J' ? 4 : op_ == 'K' ? 1 : 2;
      WISP_RETURN_IF_ERROR(Need(n));
      const uint64_t raw = ReadLe(n);
      WISP_RETURN_IF_ERROR(PushNew(PickleKind::kInt, &v));
      v->integer = n == 4 ? static_cast<int32_t>(raw) : static_cast<int64_t>(raw);
      return Status::Ok();
    }
    case 0x8a: case 0x8b: {  // LONG1, LONG4: little-endian two's complement of n bytes
      const size_t len_bytes = op_ == 0x8a ? 1 : 4;
      WISP_RETURN_IF_ERROR(Need(len_bytes));
      const uint64_t n = ReadLe(len_bytes);
      if (n > 8) return Unsupported(source_ + ": offset " + std::to_string(op_offset_) + ": " + name + " integer of " + std::to_string(n) + " bytes (more than 64 bits)");
      WISP_RETURN_IF_ERROR(Need(n));
      uint64_t raw = ReadLe(n);
      if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);  // sign-extend
      WISP_RETURN_IF_ERROR(PushNew(PickleKind::kInt, &v));
      v->integer = static_cast<int64_t>(raw);
      return Status::Ok();
    }
    case 'G': {  // BINFLOAT: big-endian IEEE double
      WISP_RETURN_IF_ERROR(Need(8));
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos_ + i];
      pos_ += 8;
      WISP_RETURN_IF_ERROR(PushNew(PickleKind::kFloat, &v));
      std::memcpy(&v->real, &bits, 8);
      return Status::Ok();
    }
    case 'X': case 0x8c: case 0x8d: {  // BINUNICODE (u32 length), SHORT_BINUNICODE (u8), BINUNICODE8 (u64)
      const size_t len_bytes = op_ == 'X' ? 4 : op_ == 0x8c ? 1 : 8;
      WISP_RETURN_IF_ERROR(Need(len_bytes));
      const uint64_t n = ReadLe(len_bytes);
      if (n > size_ - pos_) return Fail(std::string(name) + " of " + std::to_string(n) + " bytes runs past the end");
      WISP_RETURN_IF_ERROR(PushNew(PickleKind::kString, &v));
      v->str.assign(reinterpret_cast<const char*>(data_ + pos_), n);
      pos_ += n;
      return Status::Ok();
    }
    case 'q': case 'r':
      WISP_RETURN_IF_ERROR(Need(op_ == 'q' ? 1 : 4));
      return Memo(ReadLe(op_ == 'q' ? 1 : 4));
    case 0x94: return Memo(memo_.size());
    case 'h': case 'j':
      WISP_RETURN_IF_ERROR(Need(op_ == 'h' ? 1 : 4));
      return Recall(ReadLe(op_ == 'h' ? 1 : 4));
    case '0': return Pop(&v);
    case '1': return PopMark(&items);
    case '2':
      WISP_RETURN_IF_ERROR(Top(&v));
      return Push(v);
    case 't':
      WISP_RETURN_IF_ERROR(PopMark(&items));
      return PushTuple(items);
    case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
      items.resize(op_ - 0x84);
      for (size_t i = items.size(); i-- > 0;) WISP_RETURN_IF_ERROR(Pop(&items[i]));
      return PushTuple(items);
    }
    case 'l': case 'd': {  // LIST, DICT from the values above the MARK
      WISP_RETURN_IF_ERROR(PopMark(&items));
      if (op_ == 'd' && items.size() % 2 != 0) return Fail("DICT with an odd number of values");
      WISP_RETURN_IF_ERROR(PushNew(op_ == 'l' ? PickleKind::kList : PickleKind::kDict, &v));
      for (size_t i = 0; i < items.size(); i += (op_ == 'l' ? 1 : 2)) {
        if (op_ == 'l') v->items.push_back(items[i]);
        else v->dict.emplace_back(items[i], items[i + 1]);
      }
      return Status::Ok();
    }
    case 'a':
      WISP_RETURN_IF_ERROR(Pop(&v));
      items.push_back(v);
      [[fallthrough]];
    case 'e':
      if (op_ == 'e') WISP_RETURN_IF_ERROR(PopMark(&items));
      WISP_RETURN_IF_ERROR(Top(&target));
      if (!target->is(PickleKind::kList)) return Fail(std::string(name) + " to a " + PickleKindName(target->kind));
      target->items.insert(target->items.end(), items.begin(), items.end());
      return Status::Ok();
    case 's':
      WISP_RETURN_IF_ERROR(Pop(&v));
      WISP_RETURN_IF_ERROR(Pop(&k));
      items = {k, v};
      [[fallthrough]];
    case 'u':
      if (op_ == 'u') WISP_RETURN_IF_ERROR(PopMark(&items));
      if (items.size() % 2 != 0) return Fail("SETITEMS with an odd number of values");
      WISP_RETURN_IF_ERROR(Top(&target));
      if (!target->is(PickleKind::kDict)) return Fail(std::string(name) + " on a " + PickleKindName(target->kind));
      for (size_t i = 0; i < items.size(); i += 2) target->dict.emplace_back(items[i], items[i + 1]);
      return Status::Ok();
    case 'c': {  // GLOBAL "module\nname\n"
      std::string parts[2];
      for (std::string& part : parts) {
        const void* nl = std::memchr(data_ + pos_, '\n', std::min<size_t>(size_ - pos_, 256));
        if (nl == nullptr) return Fail("GLOBAL without a newline-terminated name of at most 255 bytes");
        const size_t n = static_cast<const uint8_t*>(nl) - (data_ + pos_);
        part.assign(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n + 1;
      }
      return Global(parts[0], parts[1]);
    }
    case 0x93:  // STACK_GLOBAL: module and name strings from the stack
      WISP_RETURN_IF_ERROR(Pop(&v));
      WISP_RETURN_IF_ERROR(Pop(&k));
      if (!k->is(PickleKind::kString) || !v->is(PickleKind::kString)) return Fail("STACK_GLOBAL needs two strings");
      return Global(k->str, v->str);
    case 'R': return Reduce();
    case 'Q': return PersistentLoad();
    case 'b':  // BUILD sets an object's state: only an OrderedDict's attributes (a state dict's _metadata), dropped
      WISP_RETURN_IF_ERROR(Pop(&v));
      WISP_RETURN_IF_ERROR(Top(&target));
      if (!target->is(PickleKind::kDict) || !target->ordered_dict) {
        return Fail(std::string("BUILD on a ") + PickleKindName(target->kind) + " is not allowed (only on an OrderedDict)");
      }
      return Status::Ok();
    case 'i': case 'o': case 0x81: case 0x92: case 0x82: case 0x83: case 0x84: case 'P':
      return Fail(std::string("opcode ") + name + " is not allowed (it constructs or looks up objects)");
    default:
      if (name != nullptr) {
        return Unsupported(source_ + ": offset " + std::to_string(op_offset_) + ": opcode " + name +
                           " is not supported in a checkpoint pickle");
      }
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02x", op_);
      return Fail(std::string("unknown opcode ") + hex);
  }
}

Result<PickleDocument> PickleMachine::Run() {
  while (!stopped_) {
    if (pos_ >= size_) {
      op_offset_ = pos_;
      return Fail("the pickle ends without a STOP opcode");
    }
    WISP_RETURN_IF_ERROR(Step());
  }
  return std::move(doc_);
}

Result<PickleDocument> ParsePickle(const uint8_t* data, size_t size, const std::string& source, const PickleLimits& limits) {
  PickleMachine machine(data, size, source, limits);
  return machine.Run();
}

}  // namespace wisp

// Tests of the .pt reader: real torch.save output (testdata/, written by make_fixtures.py), and
// hostile or broken archives and pickles built here byte by byte. Every failure is checked by
// its exact message.
#include "model/formats/openai_pt_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "model/formats/pickle_reader.h"
#include "model/formats/zip_archive.h"

namespace wisp {
namespace {

const std::string kDir = WISP_PT_TESTDATA_DIR;
const std::string kAllowed =
    " is not allowed (a checkpoint may only name collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
    "torch._utils._rebuild_parameter and torch.{Half,Float,BFloat16}Storage)";

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

uint32_t Rd32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24; }
void Wr32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Emits pickle opcodes, protocol 2, as torch.save writes them.
class Pickle {
 public:
  Pickle() { Op(0x80).Op(2); }
  Pickle& Op(uint8_t op) { b.push_back(op); return *this; }
  Pickle& Str(const std::string& s) {
    Op('X');
    for (int i = 0; i < 4; ++i) Op(static_cast<uint8_t>(s.size() >> (8 * i)));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Pickle& Int(int64_t v) {  // LONG1 of 8 bytes: exercises the widest path
    Op(0x8a).Op(8);
    for (int i = 0; i < 8; ++i) Op(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
    return *this;
  }
  Pickle& Global(const std::string& module, const std::string& name) {
    Op('c');
    b.insert(b.end(), module.begin(), module.end());
    Op('\n');
    b.insert(b.end(), name.begin(), name.end());
    return Op('\n');
  }
  Pickle& Ints(const std::vector<int64_t>& v) {
    Op('(');
    for (int64_t x : v) Int(x);
    return Op('t');
  }
  std::vector<uint8_t> b;
};

struct Spec {
  std::string name;
  std::string key = "0";
  std::string storage_type = "HalfStorage";
  int64_t numel = 6;
  int64_t offset = 0;
  std::vector<int64_t> size{2, 3}, stride{3, 1};
};

const char* kDimNames[] = {"n_mels", "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head",
                           "n_audio_layer", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer"};

// The pickle of {"dims": {...}, "model_state_dict": OrderedDict(name -> tensor)}.
std::vector<uint8_t> CheckpointPickle(const std::vector<Spec>& specs, int n_dims = 10) {
  Pickle p;
  p.Op('}').Op('(').Str("dims").Op('}').Op('(');
  for (int i = 0; i < n_dims; ++i) p.Str(kDimNames[i]).Int(10 + i);
  p.Op('u').Str("model_state_dict").Global("collections", "OrderedDict").Op(')').Op('R').Op('(');
  for (const Spec& s : specs) {
    p.Str(s.name).Global("torch._utils", "_rebuild_tensor_v2").Op('(');
    p.Op('(').Str("storage").Global("torch", s.storage_type).Str(s.key).Str("cpu").Int(s.numel).Op('t').Op('Q');
    p.Int(s.offset).Ints(s.size).Ints(s.stride).Op(0x89);
    p.Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R');
  }
  p.Op('u').Op('u').Op('.');
  return p.b;
}

// A checkpoint archive "archive/..." with the given pickle and storages (key -> bytes).
std::vector<uint8_t> Archive(const std::vector<uint8_t>& pkl, const std::map<std::string, size_t>& storages,
                             bool zip64 = false) {
  std::vector<ZipWriteEntry> entries{{"archive/data.pkl", pkl}};
  for (const auto& [key, bytes] : storages) {
    ZipWriteEntry e{"archive/data/" + key, std::vector<uint8_t>(bytes)};
    for (size_t i = 0; i < bytes; ++i) e.data[i] = static_cast<uint8_t>(i);
    entries.push_back(std::move(e));
  }
  entries.push_back({"archive/version", {'3', '\n'}});
  return WriteStoredZip(entries, 64, zip64);
}

std::string Error(const std::vector<uint8_t>& file) {
  auto t = ParseOpenAiCheckpoint(file.data(), file.size(), "mem");
  return t.ok() ? "(parsed)" : t.status().message();
}

std::string PickleError(const Pickle& p, const PickleLimits& limits = {}) {
  auto d = ParsePickle(p.b.data(), p.b.size(), "pkl", limits);
  return d.ok() ? "(parsed)" : d.status().message();
}

std::vector<float> Values(const SourceTensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  SourceTensorToF32(t, v.data());
  return v;
}

void ExpectTinyCheckpoint(const TensorTable& t, TensorDType dtype, size_t n_tensors) {
  const HParams& h = t.hparams;
  EXPECT_EQ(h.n_mels, 80);
  EXPECT_EQ(h.n_vocab, 51864);
  EXPECT_EQ(h.n_audio_ctx, 1500);
  EXPECT_EQ(h.n_audio_state, 384);
  EXPECT_EQ(h.n_audio_head, 6);
  EXPECT_EQ(h.n_audio_layer, 4);
  EXPECT_EQ(h.n_text_ctx, 448);
  EXPECT_EQ(h.n_text_state, 384);
  EXPECT_EQ(h.n_text_head, 6);
  EXPECT_EQ(h.n_text_layer, 4);
  EXPECT_EQ(h.ftype, dtype == TensorDType::kF16 ? 1 : 0);
  EXPECT_EQ(t.metadata.format, "openai-pt");
  EXPECT_TRUE(t.metadata.alignment_heads.empty());
  EXPECT_TRUE(t.metadata.ordinary_tokens.empty());
  ASSERT_EQ(t.tensors.size(), n_tensors);
  const std::vector<std::string> names{"encoder.conv1.weight", "encoder.conv1.bias", "decoder.token_embedding.weight",
                                       "decoder.positional_embedding"};
  const std::vector<std::vector<int64_t>> shapes{{4, 2, 3}, {4}, {10, 4}, {3, 4}};
  const size_t elem = dtype == TensorDType::kF32 ? 4 : 2;
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(t.tensors[i].name, names[i]);
    EXPECT_EQ(t.tensors[i].shape, shapes[i]);
    EXPECT_EQ(t.tensors[i].dtype, dtype);
    EXPECT_EQ(t.tensors[i].bytes, static_cast<size_t>(t.tensors[i].numel()) * elem);
  }
  const std::vector<float> w = Values(t.tensors[0]), b = Values(t.tensors[1]);
  const std::vector<float> emb = Values(t.tensors[2]), pos = Values(t.tensors[3]);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(w[i], 0.5f * i);
  EXPECT_EQ(b, (std::vector<float>{-1.5f, -0.5f, 0.5f, 1.5f}));
  for (int i = 0; i < 40; ++i) EXPECT_EQ(emb[i], 0.25f * i);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(pos[i], 0.25f * (i + 8));
  // The view shares its storage: 8 elements into the embedding's bytes, no copy.
  EXPECT_EQ(t.tensors[3].data, t.tensors[2].data + 8 * elem);
}

TEST(OpenAiPtReader, ReadsTorchSavedF16InPlace) {
  auto t = ReadOpenAiCheckpoint(kDir + "/tiny_f16.pt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ExpectTinyCheckpoint(*t, TensorDType::kF16, 4);
  EXPECT_TRUE(t->data_outlives_load);
  ASSERT_EQ(t->keep_alive.size(), 1u);  // the mapping, nothing else
  // torch.save aligns each storage to 64 bytes of the (page-aligned) mapping.
  for (const SourceTensor& s : t->tensors) {
    if (s.name != "decoder.positional_embedding") {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(s.data) % 64, 0u) << s.name;
    }
  }
}

TEST(OpenAiPtReader, ReadsF32AndParameters) {
  auto t = ReadOpenAiCheckpoint(kDir + "/tiny_f32.pt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ExpectTinyCheckpoint(*t, TensorDType::kF32, 5);
  EXPECT_EQ(t->tensors[4].name, "decoder.ln.weight");  // pickled via _rebuild_parameter
  EXPECT_EQ(Values(t->tensors[4]), std::vector<float>(4, 1.0f));
}

TEST(OpenAiPtReader, ReadsBF16) {
  auto t = ReadOpenAiCheckpoint(kDir + "/tiny_bf16.pt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ExpectTinyCheckpoint(*t, TensorDType::kBF16, 4);
}

TEST(OpenAiPtReader, ReadsPickleProtocol4) {  // FRAME, STACK_GLOBAL, MEMOIZE, SHORT_BINUNICODE
  auto t = ReadOpenAiCheckpoint(kDir + "/tiny_proto4.pt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ExpectTinyCheckpoint(*t, TensorDType::kF16, 4);
}

TEST(OpenAiPtReader, InflatesDeflatedEntriesIntoOwnedBuffers) {
  const std::vector<uint8_t> file = ReadBytes(kDir + "/deflate.pt");
  auto t = ParseOpenAiCheckpoint(file.data(), file.size(), "deflate.pt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ExpectTinyCheckpoint(*t, TensorDType::kF16, 4);
  EXPECT_FALSE(t->data_outlives_load);
  EXPECT_EQ(t->keep_alive.size(), 3u);  // one inflated buffer per storage
  for (const SourceTensor& s : t->tensors) {
    EXPECT_TRUE(s.data < file.data() || s.data >= file.data() + file.size()) << s.name;
  }
}

TEST(OpenAiPtReader, ParsesFromMemoryWithoutOwningTheBytes) {
  const std::vector<uint8_t> file = ReadBytes(kDir + "/tiny_f16.pt");
  auto t = ParseOpenAiCheckpoint(file.data(), file.size(), "tiny_f16.pt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_FALSE(t->data_outlives_load);
  EXPECT_TRUE(t->keep_alive.empty());
  EXPECT_GE(t->tensors[0].data, file.data());
  EXPECT_LE(t->tensors[0].data + t->tensors[0].bytes, file.data() + file.size());
}

TEST(OpenAiPtReader, ReadsZip64Archives) {
  const auto file = Archive(CheckpointPickle({{"a"}, {"b", "1", "FloatStorage", 4, 1, {3}, {1}}}), {{"0", 12}, {"1", 16}},
                            /*zip64=*/true);
  auto t = ParseOpenAiCheckpoint(file.data(), file.size(), "mem");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->hparams.n_mels, 10);
  EXPECT_EQ(t->hparams.n_text_layer, 19);
  ASSERT_EQ(t->tensors.size(), 2u);
  EXPECT_EQ(t->tensors[1].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(t->tensors[1].dtype, TensorDType::kF32);
  EXPECT_EQ(t->tensors[1].bytes, 12u);
  EXPECT_EQ(t->tensors[1].data[0], 4);  // storage bytes are 0, 1, 2, ...: offset 1 element = byte 4
  EXPECT_EQ(t->hparams.ftype, 1);       // the only matrix, "a", is f16
}

// openai-whisper's own tiny.en.pt, when the shared data holds it (it is not committed: 75 MB).
TEST(OpenAiPtReader, ReadsOpenAiTinyEnWhenPresent) {
  const std::string path = std::string(WISP_SHARED_DATA_DIR) + "/tiny.en.pt";
  if (!std::ifstream(path).good()) GTEST_SKIP() << path << " is absent (openai-whisper's download of tiny.en)";
  auto t = ReadOpenAiCheckpoint(path);
  ASSERT_TRUE(t.ok()) << t.status().message();
  const HParams& h = t->hparams;
  EXPECT_EQ(h.n_mels, 80);
  EXPECT_EQ(h.n_vocab, 51864);
  EXPECT_EQ(h.n_audio_ctx, 1500);
  EXPECT_EQ(h.n_audio_state, 384);
  EXPECT_EQ(h.n_audio_head, 6);
  EXPECT_EQ(h.n_audio_layer, 4);
  EXPECT_EQ(h.n_text_ctx, 448);
  EXPECT_EQ(h.n_text_layer, 4);
  EXPECT_EQ(h.ftype, 1);
  const int conv = t->Find("encoder.conv1.weight"), emb = t->Find("decoder.token_embedding.weight");
  ASSERT_GE(conv, 0);
  ASSERT_GE(emb, 0);
  EXPECT_EQ(t->tensors[conv].shape, (std::vector<int64_t>{384, 80, 3}));
  EXPECT_EQ(t->tensors[emb].shape, (std::vector<int64_t>{51864, 384}));
  EXPECT_EQ(t->tensors[emb].dtype, TensorDType::kF16);
}

TEST(OpenAiPtReader, RefusesOsSystem) {
  auto t = ReadOpenAiCheckpoint(kDir + "/evil_os_system.pt");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().kind(), ErrorKind::kBadInput);
  EXPECT_EQ(t.status().message(),
            kDir + "/evil_os_system.pt: evil_os_system/data.pkl: offset 247: GLOBAL posix.system" + kAllowed);
}

TEST(OpenAiPtReader, RefusesBuiltinsEval) {
  auto t = ReadOpenAiCheckpoint(kDir + "/evil_eval.pt");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), kDir + "/evil_eval.pt: evil_eval/data.pkl: offset 286: GLOBAL __builtin__.eval" + kAllowed);
}

TEST(PickleReader, RefusesEverythingOutsideTheAllowList) {
  EXPECT_EQ(PickleError(Pickle().Global("builtins", "eval")), "pkl: offset 2: GLOBAL builtins.eval" + kAllowed);
  EXPECT_EQ(PickleError(Pickle().Global("torch.nn.modules.linear", "Linear")),
            "pkl: offset 2: GLOBAL torch.nn.modules.linear.Linear" + kAllowed);
  EXPECT_EQ(PickleError(Pickle().Global("torch", "LongStorage")), "pkl: offset 2: GLOBAL torch.LongStorage" + kAllowed);
  // Protocol 4's STACK_GLOBAL is checked the same way.
  Pickle sg;
  sg.Op(0x8c).Op(8).b.insert(sg.b.end(), {'b', 'u', 'i', 'l', 't', 'i', 'n', 's'});
  sg.Op(0x8c).Op(4).b.insert(sg.b.end(), {'e', 'x', 'e', 'c'});
  sg.Op(0x93);
  EXPECT_EQ(PickleError(sg), "pkl: offset 18: STACK_GLOBAL builtins.exec" + kAllowed);
  // Opcodes that construct objects are refused whatever they name.
  EXPECT_EQ(PickleError(Pickle().Op('i')), "pkl: offset 2: opcode INST is not allowed (it constructs or looks up objects)");
  EXPECT_EQ(PickleError(Pickle().Op('(').Op('o')), "pkl: offset 3: opcode OBJ is not allowed (it constructs or looks up objects)");
  EXPECT_EQ(PickleError(Pickle().Op(0x81)), "pkl: offset 2: opcode NEWOBJ is not allowed (it constructs or looks up objects)");
  EXPECT_EQ(PickleError(Pickle().Op(0x82).Op(1)), "pkl: offset 2: opcode EXT1 is not allowed (it constructs or looks up objects)");
  // An allowed global is still only usable as what it is.
  EXPECT_EQ(PickleError(Pickle().Global("torch", "HalfStorage").Op(')').Op('R')),
            "pkl: offset 22: REDUCE of torch.HalfStorage is not allowed (it is only a storage type)");
  EXPECT_EQ(PickleError(Pickle().Op(']').Op('}').Op('b')),
            "pkl: offset 4: BUILD on a list is not allowed (only on an OrderedDict)");
  EXPECT_EQ(PickleError(Pickle().Op('}').Op(')').Op('R')), "pkl: offset 4: REDUCE of a dict is not allowed");
  EXPECT_EQ(PickleError(Pickle().Global("collections", "OrderedDict").Op('K').Op(1).Op(0x85).Op('R')),
            "pkl: offset 30: REDUCE of collections.OrderedDict with arguments (only OrderedDict() is allowed)");
  EXPECT_EQ(PickleError(Pickle().Str("x").Op('Q')),
            "pkl: offset 8: BINPERSID expects ('storage', torch.<Half|Float|BFloat16>Storage, key, location, numel)");
  auto bytes = ParsePickle(Pickle().Op('B').b.data(), 3, "pkl");
  EXPECT_EQ(bytes.status().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(bytes.status().message(), "pkl: offset 2: opcode BINBYTES is not supported in a checkpoint pickle");
  EXPECT_EQ(PickleError(Pickle().Op(0xff)), "pkl: offset 2: unknown opcode 0xff");
}

TEST(PickleReader, BoundsStackMarksAndValues) {
  Pickle marks;
  for (int i = 0; i < 5000; ++i) marks.Op('(');
  EXPECT_EQ(PickleError(marks), "pkl: offset 1026: more than 1024 nested MARKs");
  Pickle wide;
  wide.Op(']');
  for (int i = 0; i < 200; ++i) wide.Op('2');  // DUP
  EXPECT_EQ(PickleError(wide, {.max_stack = 100}), "pkl: offset 102: stack deeper than 100");
  Pickle many;
  for (int i = 0; i < 200; ++i) many.Op('N').Op('0');  // NONE, POP
  EXPECT_EQ(PickleError(many, {.max_values = 50}), "pkl: offset 102: more than 50 values");
  // A 100000-deep nested tuple parses without recursion (and frees without it).
  Pickle deep;
  deep.Op('N');
  for (int i = 0; i < 100000; ++i) deep.Op(0x85);
  deep.Op('.');
  auto d = ParsePickle(deep.b.data(), deep.b.size(), "pkl");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->value_count(), 100001u);
  // A list that contains itself (memo cycle) is a value like any other.
  auto cyc = Pickle().Op(']').Op('q').Op(0).Op('h').Op(0).Op('a').Op('.');
  auto c = ParsePickle(cyc.b.data(), cyc.b.size(), "pkl");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->root().items[0], &c->root());
}

TEST(PickleReader, ReportsMalformedStreams) {
  EXPECT_EQ(PickleError(Pickle().Op('N')), "pkl: offset 3: the pickle ends without a STOP opcode");
  EXPECT_EQ(PickleError(Pickle().Op('X').Op(9).Op(0).Op(0).Op(0).Op('a')), "pkl: offset 2: BINUNICODE of 9 bytes runs past the end");
  EXPECT_EQ(PickleError(Pickle().Op('J').Op(1)), "pkl: offset 2: BININT needs 4 bytes, the pickle ends");
  EXPECT_EQ(PickleError(Pickle().Op('0')), "pkl: offset 2: POP on an empty stack");
  EXPECT_EQ(PickleError(Pickle().Op('N').Op('(').Op('0')), "pkl: offset 4: POP on an empty stack");
  EXPECT_EQ(PickleError(Pickle().Op('h').Op(3)), "pkl: offset 2: BINGET of memo index 3 that was never set");
  EXPECT_EQ(PickleError(Pickle().Op('N').Op('N').Op('.')), "pkl: offset 4: STOP with 2 values and 0 open MARKs");
  EXPECT_EQ(PickleError(Pickle().Op('N').Op('K').Op(1).Op('a')), "pkl: offset 5: APPEND to a None");
  EXPECT_EQ(PickleError(Pickle().Op(0x8a).Op(9)), "pkl: offset 2: LONG1 integer of 9 bytes (more than 64 bits)");
  auto neg = Pickle().Op(0x8a).Op(2).Op(0x00).Op(0x80).Op('.');  // LONG1 -32768
  auto n = ParsePickle(neg.b.data(), neg.b.size(), "pkl");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->root().integer, -32768);
}

TEST(OpenAiPtReader, RefusesNonContiguousTensors) {
  auto t = ReadOpenAiCheckpoint(kDir + "/noncontig.pt");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(t.status().message(), kDir + "/noncontig.pt: tensor 'decoder.token_embedding.weight': stride (1, 4) is not "
                                         "contiguous row-major for size (4, 10) (save it with .contiguous())");
  // Size-1 dimensions may have any stride, as in PyTorch.
  const auto ok = Archive(CheckpointPickle({{"a", "0", "HalfStorage", 6, 0, {1, 6}, {99, 1}}}), {{"0", 12}});
  EXPECT_EQ(Error(ok), "(parsed)");
}

TEST(OpenAiPtReader, ValidatesStorages) {
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a", "7"}}), {{"0", 12}})),
            "mem: tensor 'a': storage '7': the archive has no entry archive/data/7");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a", "0", "HalfStorage", 6, 1}}), {{"0", 12}})),
            "mem: tensor 'a': 6 elements at storage offset 1 exceed storage '0' of 6 elements");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a", "0", "HalfStorage", 6, 0, {3, 3}, {3, 1}}}), {{"0", 12}})),
            "mem: tensor 'a': 9 elements at storage offset 0 exceed storage '0' of 6 elements");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a", "0", "FloatStorage"}}), {{"0", 12}})),
            "mem: tensor 'a': storage '0' declares 6 f32 elements but archive/data/0 holds 12 bytes");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a"}, {"b", "0", "FloatStorage", 3, 0, {3}, {1}}}), {{"0", 12}})),
            "mem: tensor 'b': storage '0' is declared as 3 f32 elements here but 6 f16 elements by an earlier tensor");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a", "0", "HalfStorage", 6, 0, {2, 3}, {3}}}), {{"0", 12}})),
            "mem: tensor 'a': size (2, 3) and stride (3,) differ in rank");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a", "0", "HalfStorage", 6, 0, {-2, -3}, {3, 1}}}), {{"0", 12}})),
            "mem: tensor 'a': size (-2, -3) is negative or too large");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a"}, {"a"}}), {{"0", 12}})), "mem: tensor 'a' appears twice");
  EXPECT_EQ(Error(Archive(CheckpointPickle({{"a"}}, 9), {{"0", 12}})),
            "mem: archive/data.pkl: dims has no 'n_text_layer'");
}

TEST(OpenAiPtReader, RefusesWhatIsNotAWhisperCheckpoint) {
  Pickle list;
  list.Op(']').Op('.');
  EXPECT_EQ(Error(Archive(list.b, {})), "mem: archive/data.pkl: the checkpoint is a list, not a dict");
  Pickle empty;
  empty.Op('}').Op('.');
  EXPECT_EQ(Error(Archive(empty.b, {})),
            "mem: archive/data.pkl: not an openai-whisper checkpoint (needs dicts 'dims' and 'model_state_dict')");
  EXPECT_EQ(Error(WriteStoredZip({{"x/other", {1}}})), "mem: zip archive has no <name>/data.pkl entry: not a torch.save checkpoint");
  const std::vector<uint8_t> legacy{0x80, 0x02, 0x8a, 0x0a};
  auto t = ParseOpenAiCheckpoint(legacy.data(), legacy.size(), "old.pt");
  EXPECT_EQ(t.status().kind(), ErrorKind::kUnsupported);
  std::vector<ZipWriteEntry> big_endian{{"a/data.pkl", CheckpointPickle({})}, {"a/byteorder", {'b', 'i', 'g'}}};
  EXPECT_EQ(Error(WriteStoredZip(big_endian)), "mem: byteorder 'big' (only little-endian checkpoints are supported)");
}

TEST(ZipArchive, RefusesTruncatedArchives) {
  const std::vector<uint8_t> file = ReadBytes(kDir + "/tiny_f16.pt");
  ASSERT_GT(file.size(), 1000u);
  std::vector<uint8_t> cut(file.begin(), file.end() - 10);
  EXPECT_EQ(Error(cut), "mem: zip: no end-of-central-directory record (truncated or not a zip)");
  EXPECT_EQ(Error(std::vector<uint8_t>(file.begin(), file.begin() + 10)), "mem: zip: file of 10 bytes is too short");
  // Every prefix fails with a message, never a crash.
  for (size_t n = 0; n < file.size(); n += 7) {
    std::vector<uint8_t> prefix(file.begin(), file.begin() + n);
    EXPECT_NE(Error(prefix), "(parsed)") << n;
  }
}

TEST(ZipArchive, RefusesCentralDirectoriesThatLie) {
  const std::vector<uint8_t> file = ReadBytes(kDir + "/tiny_f16.pt");
  const uint8_t* end = file.data() + file.size() - 22;
  ASSERT_EQ(Rd32(end), 0x06054b50u);
  const uint32_t cd = Rd32(end + 16);
  {  // the first entry's local header offset moved by one byte
    auto f = file;
    Wr32(f.data() + cd + 42, 1);
    EXPECT_EQ(Error(f), "mem: zip: central directory entry 0 (offset " + std::string("0x") +
                            [&] { char b[16]; std::snprintf(b, 16, "%x", cd); return std::string(b); }() +
                            ") 'tiny_f16/data.pkl': no local header at offset 0x1");
  }
  {  // sizes that run into the central directory
    auto f = file;
    Wr32(f.data() + cd + 20, 100000);
    Wr32(f.data() + cd + 24, 100000);
    EXPECT_NE(Error(f).find("'tiny_f16/data.pkl': data of 100000 bytes at 0x"), std::string::npos) << Error(f);
    EXPECT_NE(Error(f).find("runs past the start of the central directory"), std::string::npos);
  }
  // torch.save always writes ZIP64 end records (PyTorch's miniz): the 32-bit copies must agree.
  const size_t rec = Rd32(file.data() + file.size() - 22 - 20 + 8);
  ASSERT_EQ(Rd32(file.data() + rec), 0x06064b50u);
  {  // the 32-bit and ZIP64 end records disagree
    auto f = file;
    Wr32(f.data() + file.size() - 22 + 16, cd + 64);
    EXPECT_EQ(Error(f), "mem: zip: end record and ZIP64 end record disagree on the central directory");
  }
  {  // a directory offset past the end of the file
    auto f = file;
    Wr32(f.data() + file.size() - 22 + 16, 0xffffffff);
    Wr32(f.data() + rec + 48, 0x7fffffff);
    EXPECT_EQ(Error(f), "mem: zip: central directory (offset 0x7fffffff, 308 bytes) lies outside the file");
  }
  {  // more entries than the directory can hold
    auto f = file;
    f[file.size() - 22 + 10] = 0xff;
    f[file.size() - 22 + 11] = 0xff;
    f[rec + 32] = 0xfe;
    EXPECT_EQ(Error(f), "mem: zip: central directory of 308 bytes cannot hold 254 entries");
  }
  {  // a ZIP64 locator pointing nowhere
    auto f = file;
    Wr32(f.data() + file.size() - 22 - 20 + 8, 3);
    EXPECT_EQ(Error(f), "mem: zip: no ZIP64 end record at offset 0x3");
  }
  {  // a flipped byte inside data.pkl
    auto f = file;
    f[100] ^= 0x40;
    EXPECT_EQ(Error(f), "mem: zip entry 'tiny_f16/data.pkl': CRC-32 mismatch");
  }
  // Duplicate names would let two readers see different entries.
  EXPECT_NE(Error(WriteStoredZip({{"a/data.pkl", {1}}, {"a/data.pkl", {2}}})).find("duplicate entry name"), std::string::npos);
}

TEST(ZipArchive, BoundsDeflatedSizes) {
  std::vector<uint8_t> file = ReadBytes(kDir + "/deflate.pt");
  const uint8_t* end = file.data() + file.size() - 22;
  const uint32_t cd = Rd32(end + 16);
  ASSERT_EQ(std::string(reinterpret_cast<const char*>(file.data() + cd + 46), 16), "deflate/data.pkl");
  Wr32(file.data() + cd + 24, 0x7fffffff);  // 2 GiB declared for 489 compressed bytes
  EXPECT_EQ(Error(file), "mem: zip entry 'deflate/data.pkl': declared size 2147483647 is more than deflate can "
                         "produce from 489 bytes");
  Wr32(file.data() + cd + 24, 700);  // less than the stream holds
  EXPECT_EQ(Error(file), "mem: zip entry 'deflate/data.pkl': inflates to more than the declared 700 bytes");
}

}  // namespace
}  // namespace wisp

// The Hugging Face reader: safetensors containers built in memory by a tiny writer below, whole
// checkpoint directories in a temporary folder, and one test per hostile input with its message.
#include "model/formats/safetensors_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace wisp {
namespace {

using Json = nlohmann::json;

struct TestTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16"
  std::vector<int64_t> shape;
  std::string bytes;  // empty: filled with a pattern from `seed`
  int seed = 0;
};

int64_t ElemBytes(const std::string& dtype) { return dtype == "F32" ? 4 : 2; }

// A deterministic byte pattern, different for every seed.
std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((seed * 31 + i * 7 + 1) & 0xFF);
  return s;
}

// The test's own safetensors writer: header length, JSON header, the tensors back to back.
std::string WithHeader(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::string Safetensors(std::vector<TestTensor>& tensors) {
  Json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (TestTensor& t : tensors) {
    int64_t n = ElemBytes(t.dtype);
    for (int64_t d : t.shape) n *= d;
    if (t.bytes.empty()) t.bytes = Pattern(n, t.seed);
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + n}}};
    data += t.bytes;
  }
  return WithHeader(header.dump(), data);
}

const uint8_t* U8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

Status ParseStatus(const std::string& file) { return ParseSafetensors(U8(file), file.size(), "t.safetensors").status(); }

// ---- ParseSafetensors --------------------------------------------------------------------------

TEST(ParseSafetensors, ReadsNamesShapesDtypesAndPointsIntoTheBuffer) {
  std::vector<TestTensor> ts = {{"b", "F16", {2, 3}, "", 1}, {"a", "F32", {4}, "", 2}, {"c", "BF16", {1, 2, 2}, "", 3},
                                {"empty", "F32", {0, 5}, "", 4}};
  const std::string file = Safetensors(ts);
  Result<TensorTable> table = ParseSafetensors(U8(file), file.size(), "t.safetensors");
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_FALSE(table->data_outlives_load);
  EXPECT_TRUE(table->keep_alive.empty());
  ASSERT_EQ(table->tensors.size(), 4u);
  for (const TestTensor& t : ts) {
    const int i = table->Find(t.name);
    ASSERT_GE(i, 0) << t.name;
    const SourceTensor& s = table->tensors[i];
    EXPECT_EQ(s.shape, t.shape);
    EXPECT_EQ(s.bytes, t.bytes.size());
    EXPECT_GE(s.data, U8(file));
    EXPECT_LE(s.data + s.bytes, U8(file) + file.size());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data), s.bytes), t.bytes) << t.name;
  }
  EXPECT_EQ(table->tensors[table->Find("a")].dtype, TensorDType::kF32);
  EXPECT_EQ(table->tensors[table->Find("b")].dtype, TensorDType::kF16);
  EXPECT_EQ(table->tensors[table->Find("c")].dtype, TensorDType::kBF16);
  // The data region starts right after the header: "b" (written first) is at its start.
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  EXPECT_EQ(table->tensors[table->Find("b")].data, U8(file) + 8 + n);
}

void ExpectError(const std::string& file, ErrorKind kind, const std::string& message) {
  const Status st = ParseStatus(file);
  EXPECT_EQ(st.kind(), kind) << st.message();
  EXPECT_EQ(st.message(), message);
}

std::string OneTensor(const std::string& entry, size_t data_bytes) {
  return WithHeader("{\"w\":" + entry + "}", std::string(data_bytes, '\x11'));
}

TEST(ParseSafetensors, RejectsTruncatedFiles) {
  ExpectError(std::string("\x05\0\0", 3), ErrorKind::kBadInput,
              "t.safetensors: 3 bytes: too short for a safetensors file (it starts with an 8-byte header length)");
  std::vector<TestTensor> ts = {{"w", "F32", {4}, "", 1}};
  const std::string file = Safetensors(ts);
  ExpectError(file.substr(0, 20), ErrorKind::kBadInput,
              "t.safetensors: header length " + std::to_string(file.size() - 8 - 16) +
                  " runs past the end of the file (20 bytes)");
  // Header intact, data cut short: the offsets now lie.
  ExpectError(file.substr(0, file.size() - 1), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': data_offsets [0,16] run past the end of the data (15 bytes)");
}

TEST(ParseSafetensors, RejectsHugeHeaderLengths) {
  std::string file(8, '\xFF');
  ExpectError(file + "{}", ErrorKind::kBadInput,
              "t.safetensors: header length 18446744073709551615 runs past the end of the file (10 bytes)");
  const std::string big = WithHeader("{}" + std::string(kMaxSafetensorsHeaderBytes, ' '), "");
  ExpectError(big, ErrorKind::kBadInput, "t.safetensors: header length 16777218 exceeds the 16 MiB limit");
}

TEST(ParseSafetensors, RejectsHeadersThatAreNotAJsonObject) {
  ExpectError(WithHeader("{\"w\": [", ""), ErrorKind::kBadInput,
              "t.safetensors: header: not valid JSON (error at byte 8)");
  ExpectError(WithHeader("[1, 2]", ""), ErrorKind::kBadInput, "t.safetensors: header is not a JSON object");
  ExpectError(WithHeader("{\"w\": 3}", ""), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': entry is not a JSON object");
  ExpectError(WithHeader("{\"__metadata__\": 1}", ""), ErrorKind::kBadInput,
              "t.safetensors: __metadata__ is not a JSON object");
  ExpectError(WithHeader("{\"w\": {\"shape\": [[[1]]]}}", ""), ErrorKind::kBadInput,
              "t.safetensors: header: JSON nested more than 3 levels deep");
}

TEST(ParseSafetensors, RejectsUnknownDtypesNamingTheTensor) {
  ExpectError(OneTensor(R"({"dtype":"F64","shape":[2],"data_offsets":[0,16]})", 16), ErrorKind::kUnsupported,
              "t.safetensors: tensor 'w' has dtype 'F64'; wisp reads F32, F16 and BF16");
  ExpectError(OneTensor(R"({"dtype":7,"shape":[2],"data_offsets":[0,16]})", 16), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': no dtype string");
}

TEST(ParseSafetensors, RejectsBadShapes) {
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})", 8), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': shape entry 0 is -2, outside 0..9223372036854775807");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})", 8), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': shape entry 0 is not an integer");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})", 8),
              ErrorKind::kBadInput, "t.safetensors: tensor 'w': shape [4294967296,4294967296] overflows");
  // Elements fit int64 but their bytes do not.
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]})", 8),
              ErrorKind::kBadInput, "t.safetensors: tensor 'w': shape [4611686018427387904] overflows");
  ExpectError(OneTensor(R"({"dtype":"F32","data_offsets":[0,8]})", 8), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': no shape array");
}

TEST(ParseSafetensors, RejectsOffsetsThatLie) {
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[8,16]})", 12), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': data_offsets [8,16] run past the end of the data (12 bytes)");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})", 16), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': data_offsets [8,0] end before begin");
  ExpectError(OneTensor(R"({"dtype":"F16","shape":[2,3],"data_offsets":[0,16]})", 16), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': data_offsets [0,16] hold 16 bytes but shape [2, 3] of F16 takes 12");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})", 16), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': data_offsets is not an array [begin, end]");
  ExpectError(OneTensor(R"({"dtype":"F32","shape":[2],"data_offsets":[-1,7]})", 16), ErrorKind::kBadInput,
              "t.safetensors: tensor 'w': data_offsets begin is -1, outside 0..9223372036854775807");
  ExpectError(WithHeader(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                         std::string(12, '\0')),
              ErrorKind::kBadInput, "t.safetensors: tensors 'a' and 'b' overlap");
}

// ---- Names --------------------------------------------------------------------------------------

TEST(WhisperNameForHuggingFace, InvertsTransformersConversion) {
  const std::pair<const char*, const char*> cases[] = {
      {"model.encoder.conv1.weight", "encoder.conv1.weight"},
      {"model.encoder.conv2.bias", "encoder.conv2.bias"},
      {"model.encoder.embed_positions.weight", "encoder.positional_embedding"},
      {"model.encoder.layers.3.self_attn.q_proj.weight", "encoder.blocks.3.attn.query.weight"},
      {"model.encoder.layers.3.self_attn.k_proj.weight", "encoder.blocks.3.attn.key.weight"},
      {"model.encoder.layers.3.self_attn.v_proj.bias", "encoder.blocks.3.attn.value.bias"},
      {"model.encoder.layers.31.self_attn.out_proj.weight", "encoder.blocks.31.attn.out.weight"},
      {"model.encoder.layers.0.self_attn_layer_norm.bias", "encoder.blocks.0.attn_ln.bias"},
      {"model.encoder.layers.0.fc1.weight", "encoder.blocks.0.mlp.0.weight"},
      {"model.encoder.layers.0.fc2.bias", "encoder.blocks.0.mlp.2.bias"},
      {"model.encoder.layers.0.final_layer_norm.weight", "encoder.blocks.0.mlp_ln.weight"},
      {"model.encoder.layer_norm.weight", "encoder.ln_post.weight"},
      {"model.decoder.embed_tokens.weight", "decoder.token_embedding.weight"},
      {"model.decoder.embed_positions.weight", "decoder.positional_embedding"},
      {"model.decoder.layers.1.encoder_attn.q_proj.weight", "decoder.blocks.1.cross_attn.query.weight"},
      {"model.decoder.layers.1.encoder_attn.out_proj.bias", "decoder.blocks.1.cross_attn.out.bias"},
      {"model.decoder.layers.1.encoder_attn_layer_norm.weight", "decoder.blocks.1.cross_attn_ln.weight"},
      {"model.decoder.layers.1.self_attn.k_proj.weight", "decoder.blocks.1.attn.key.weight"},
      {"model.decoder.layer_norm.bias", "decoder.ln.bias"},
      {"decoder.layer_norm.weight", "decoder.ln.weight"},  // a saved WhisperModel: no "model."
  };
  for (const auto& [hf, whisper] : cases) {
    Result<HfTensorName> n = WhisperNameForHuggingFace(hf);
    ASSERT_TRUE(n.ok()) << hf << ": " << n.status().message();
    EXPECT_EQ(n->role, HfTensorRole::kWeight) << hf;
    EXPECT_EQ(n->whisper_name, whisper) << hf;
  }
  EXPECT_EQ(WhisperNameForHuggingFace("proj_out.weight")->role, HfTensorRole::kTiedOutputProjection);
  EXPECT_EQ(WhisperNameForHuggingFace("model.encoder.layers.2.self_attn.k_proj.bias")->role,
            HfTensorRole::kDroppedKeyBias);
  EXPECT_EQ(WhisperNameForHuggingFace("model.decoder.layers.2.encoder_attn.k_proj.bias")->role,
            HfTensorRole::kDroppedKeyBias);
  for (const char* bad : {"lm_head.weight", "model.encoder.layers.0.encoder_attn.q_proj.weight",
                          "model.decoder.layers.01.fc1.weight", "model.decoder.layers.1.fc3.weight",
                          "model.decoder.layers.1.fc1.scale", "model.encoder.layers..fc1.weight",
                          "encoder.blocks.0.attn.query.weight", "model.decoder.embed_tokens"}) {
    Result<HfTensorName> n = WhisperNameForHuggingFace(bad);
    EXPECT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().message(), "tensor '" + std::string(bad) + "' is not part of a transformers Whisper model");
  }
}

// ---- Checkpoint directories ------------------------------------------------------------------

// A temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "hf_reader_XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }

 private:
  std::string path_;
};

// GPT-2's bytes_to_unicode(), as UTF-8: how Hugging Face vocabularies spell a token's bytes.
std::string ByteLevelSpelling(const std::string& bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    int n = 0, cp = -1;
    for (int c = 0; c < 256 && cp < 0; ++c) {
      const bool printable = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE && c <= 0xFF);
      if (c == b) cp = printable ? c : 256 + n;
      if (!printable) ++n;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// 50257 distinct ordinary tokens (a multilingual vocabulary's count): the 256 single bytes, then
// byte pairs.
std::vector<std::string> SyntheticOrdinaryTokens() {
  std::vector<std::string> tokens;
  for (int i = 0; i < 50257; ++i) {
    if (i < 256) {
      tokens.push_back(std::string(1, static_cast<char>(i)));
    } else {
      tokens.push_back({static_cast<char>((i - 256) >> 8), static_cast<char>((i - 256) & 0xFF)});
    }
  }
  return tokens;
}

Json VocabJson(const std::vector<std::string>& ordinary) {
  Json vocab = Json::object();
  for (size_t i = 0; i < ordinary.size(); ++i) vocab[ByteLevelSpelling(ordinary[i])] = i;
  return vocab;
}

// The HF tensors of a tiny model (d_model 4, 2 mel bins, one layer each side): f16 matrices, f32
// vectors, with a key bias the reader must drop and proj_out tied to the token embedding.
std::vector<TestTensor> TinyHfTensors() {
  std::vector<TestTensor> ts;
  int seed = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    ts.push_back({name, shape.size() >= 2 ? "F16" : "F32", shape, "", ++seed});
  };
  add("model.encoder.conv1.weight", {4, 2, 3});
  add("model.encoder.conv1.bias", {4});
  add("model.encoder.conv2.weight", {4, 4, 3});
  add("model.encoder.conv2.bias", {4});
  add("model.encoder.embed_positions.weight", {6, 4});
  for (const std::string side : {"encoder", "decoder"}) {
    const std::string l = "model." + side + ".layers.0.";
    std::vector<std::string> attns = {"self_attn"};
    if (side == "decoder") attns.push_back("encoder_attn");
    for (const std::string& a : attns) {
      for (const char* p : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
        add(l + a + "." + p + ".weight", {4, 4});
        add(l + a + "." + p + ".bias", {4});  // k_proj.bias included: dropped
      }
      add(l + a + "_layer_norm.weight", {4});
      add(l + a + "_layer_norm.bias", {4});
    }
    add(l + "fc1.weight", {16, 4});
    add(l + "fc1.bias", {16});
    add(l + "fc2.weight", {4, 16});
    add(l + "fc2.bias", {4});
    add(l + "final_layer_norm.weight", {4});
    add(l + "final_layer_norm.bias", {4});
    add("model." + side + ".layer_norm.weight", {4});
    add("model." + side + ".layer_norm.bias", {4});
  }
  add("model.decoder.embed_tokens.weight", {8, 4});
  add("model.decoder.embed_positions.weight", {5, 4});
  add("proj_out.weight", {8, 4});
  ts.back().seed = ts[ts.size() - 3].seed;  // same bytes as embed_tokens: tied
  return ts;
}

// The openai-whisper names the tiny model must come out with (k_proj biases and proj_out gone).
std::set<std::string> TinyWhisperNames() {
  std::set<std::string> names = {"encoder.conv1.weight", "encoder.conv1.bias", "encoder.conv2.weight",
                                 "encoder.conv2.bias", "encoder.positional_embedding",
                                 "encoder.ln_post.weight", "encoder.ln_post.bias",
                                 "decoder.token_embedding.weight", "decoder.positional_embedding",
                                 "decoder.ln.weight", "decoder.ln.bias"};
  for (const std::string side : {"encoder", "decoder"}) {
    const std::string b = side + ".blocks.0.";
    for (const std::string a : {"attn", "cross_attn"}) {
      if (a == "cross_attn" && side == "encoder") continue;
      for (const char* p : {"query.weight", "query.bias", "key.weight", "value.weight", "value.bias", "out.weight",
                            "out.bias"}) {
        names.insert(b + a + "." + p);
      }
      names.insert(b + a + "_ln.weight");
      names.insert(b + a + "_ln.bias");
    }
    for (const char* p : {"mlp.0.weight", "mlp.0.bias", "mlp.2.weight", "mlp.2.bias", "mlp_ln.weight", "mlp_ln.bias"}) {
      names.insert(b + p);
    }
  }
  return names;
}

const char* kConfig = R"({"architectures": ["WhisperForConditionalGeneration"], "d_model": 4,
  "encoder_layers": 1, "encoder_attention_heads": 2, "decoder_layers": 1, "decoder_attention_heads": 2,
  "num_mel_bins": 2, "vocab_size": 51865, "max_source_positions": 6, "max_target_positions": 5,
  "torch_dtype": "float16"})";
const char* kGenerationConfig = R"({"alignment_heads": [[0, 1], [0, 0]], "suppress_tokens": [1, 2, 7],
  "begin_suppress_tokens": [220, 50257], "lang_to_id": {"<|en|>": 50259}})";

// A checkpoint directory: model.safetensors, config, generation config and tokenizer.json.
struct TinyCheckpoint {
  TempDir dir;
  std::vector<TestTensor> tensors = TinyHfTensors();
  std::vector<std::string> ordinary = SyntheticOrdinaryTokens();
  TinyCheckpoint() {
    dir.Write("model.safetensors", Safetensors(tensors));
    dir.Write("config.json", kConfig);
    dir.Write("generation_config.json", kGenerationConfig);
    Json added = Json::array();
    for (int id : {50257, 50258, 50259}) {
      added.push_back({{"id", id}, {"content", id == 50257 ? "<|endoftext|>" : "<|special" + std::to_string(id) + "|>"},
                       {"special", true}});
    }
    Json tok = {{"version", "1.0"}, {"added_tokens", added},
                {"model", {{"type", "BPE"}, {"vocab", VocabJson(ordinary)}, {"merges", {"a b", "c d"}}}}};
    tok["model"]["vocab"]["<|endoftext|>"] = 50257;  // also in the vocabulary, with the same id
    dir.Write("tokenizer.json", tok.dump());
  }
};

Status ReadStatus(const std::string& path) { return ReadHuggingFaceDir(path).status(); }

TEST(ReadHuggingFaceDir, MapsNamesAndKeepsTheBytesInTheMapping) {
  TinyCheckpoint ckpt;
  Result<TensorTable> table = ReadHuggingFaceDir(ckpt.dir.path());
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::set<std::string> names;
  for (const SourceTensor& t : table->tensors) names.insert(t.name);
  EXPECT_EQ(names, TinyWhisperNames());
  EXPECT_EQ(table->tensors.size(), names.size());
  // Every tensor points at the bytes the writer put there (no copy, no conversion).
  for (const TestTensor& t : ckpt.tensors) {
    Result<HfTensorName> n = WhisperNameForHuggingFace(t.name);
    ASSERT_TRUE(n.ok());
    if (n->role != HfTensorRole::kWeight) continue;
    const int i = table->Find(n->whisper_name);
    ASSERT_GE(i, 0) << n->whisper_name;
    const SourceTensor& s = table->tensors[i];
    EXPECT_EQ(s.shape, t.shape) << s.name;
    EXPECT_EQ(s.dtype, t.dtype == "F16" ? TensorDType::kF16 : TensorDType::kF32) << s.name;
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data), s.bytes), t.bytes) << s.name;
  }
  EXPECT_TRUE(table->data_outlives_load);
  EXPECT_EQ(table->keep_alive.size(), 1u);
  EXPECT_EQ(table->metadata.format, "huggingface");

  const HParams& hp = table->hparams;
  EXPECT_EQ(hp.n_vocab, 51865);
  EXPECT_EQ(hp.n_audio_ctx, 6);
  EXPECT_EQ(hp.n_audio_state, 4);
  EXPECT_EQ(hp.n_audio_head, 2);
  EXPECT_EQ(hp.n_audio_layer, 1);
  EXPECT_EQ(hp.n_text_ctx, 5);
  EXPECT_EQ(hp.n_text_state, 4);
  EXPECT_EQ(hp.n_text_head, 2);
  EXPECT_EQ(hp.n_text_layer, 1);
  EXPECT_EQ(hp.n_mels, 2);
  EXPECT_EQ(hp.ftype, 1);  // every matrix f16

  const ModelMetadata& m = table->metadata;
  EXPECT_EQ(m.alignment_heads, (std::vector<std::pair<int, int>>{{0, 1}, {0, 0}}));
  EXPECT_EQ(m.suppress_tokens, (std::vector<int>{1, 2, 7}));
  EXPECT_EQ(m.suppress_tokens_begin, (std::vector<int>{220, 50257}));
  EXPECT_EQ(m.ordinary_tokens, ckpt.ordinary);
}

TEST(ReadHuggingFaceDir, AcceptsASafetensorsFilePathWithItsConfigBeside) {
  TinyCheckpoint ckpt;
  Result<TensorTable> table = ReadHuggingFaceDir(ckpt.dir.path() + "/model.safetensors");
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::set<std::string> names;
  for (const SourceTensor& t : table->tensors) names.insert(t.name);
  EXPECT_EQ(names, TinyWhisperNames());
  EXPECT_EQ(table->hparams.n_audio_state, 4);
}

TEST(ReadHuggingFaceDir, ReadsShardsListedByTheIndex) {
  TinyCheckpoint ckpt;
  std::filesystem::remove(ckpt.dir.path() + "/model.safetensors");
  std::vector<TestTensor> first(ckpt.tensors.begin(), ckpt.tensors.begin() + 20);
  std::vector<TestTensor> second(ckpt.tensors.begin() + 20, ckpt.tensors.end());
  ckpt.dir.Write("model-00001-of-00002.safetensors", Safetensors(first));
  ckpt.dir.Write("model-00002-of-00002.safetensors", Safetensors(second));
  Json index = {{"metadata", {{"total_size", 1234}}}, {"weight_map", Json::object()}};
  for (const TestTensor& t : first) index["weight_map"][t.name] = "model-00001-of-00002.safetensors";
  for (const TestTensor& t : second) index["weight_map"][t.name] = "model-00002-of-00002.safetensors";
  const std::string index_path = ckpt.dir.Write("model.safetensors.index.json", index.dump());

  Result<TensorTable> table = ReadHuggingFaceDir(ckpt.dir.path());
  ASSERT_TRUE(table.ok()) << table.status().message();
  std::set<std::string> names;
  for (const SourceTensor& t : table->tensors) names.insert(t.name);
  EXPECT_EQ(names, TinyWhisperNames());
  EXPECT_EQ(table->keep_alive.size(), 2u);

  // The index and the shards must agree, both ways; shards are files beside the index.
  Json lying = index;
  lying["weight_map"]["model.encoder.conv1.bias"] = "model-00002-of-00002.safetensors";
  ckpt.dir.Write("model.safetensors.index.json", lying.dump());
  EXPECT_EQ(ReadStatus(ckpt.dir.path()).message(),
            ckpt.dir.path() + "/model-00001-of-00002.safetensors: holds tensor 'model.encoder.conv1.bias', which " +
                index_path + " maps elsewhere");
  Json extra = index;
  extra["weight_map"]["model.encoder.extra"] = "model-00002-of-00002.safetensors";
  ckpt.dir.Write("model.safetensors.index.json", extra.dump());
  EXPECT_EQ(ReadStatus(ckpt.dir.path()).message(),
            index_path + ": tensor 'model.encoder.extra' is not in its shard 'model-00002-of-00002.safetensors'");
  Json escape = index;
  escape["weight_map"]["model.encoder.conv1.bias"] = "../model.safetensors";
  ckpt.dir.Write("model.safetensors.index.json", escape.dump());
  EXPECT_EQ(ReadStatus(ckpt.dir.path()).message(),
            index_path + ": tensor 'model.encoder.conv1.bias' is mapped to '../model.safetensors', not a file name");
}

TEST(ReadHuggingFaceDir, VocabJsonGivesTheSameTokensAsTokenizerJson) {
  TinyCheckpoint ckpt;
  std::filesystem::remove(ckpt.dir.path() + "/tokenizer.json");
  Json vocab = VocabJson(ckpt.ordinary);
  vocab["<|endoftext|>"] = 50257;
  ckpt.dir.Write("vocab.json", vocab.dump());
  ckpt.dir.Write("added_tokens.json", R"({"<|startoftranscript|>": 50258, "<|en|>": 50259})");
  Result<TensorTable> table = ReadHuggingFaceDir(ckpt.dir.path());
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->metadata.ordinary_tokens, ckpt.ordinary);
  EXPECT_EQ(table->metadata.ordinary_tokens[65], "A");
  EXPECT_EQ(table->metadata.ordinary_tokens[256 + 0x0120], std::string("\x01\x20"));

  ckpt.dir.Write("added_tokens.json", R"({"<|startoftranscript|>": 50257})");
  EXPECT_EQ(ReadStatus(ckpt.dir.path()).message(),
            ckpt.dir.path() + "/added_tokens.json: id 50257 is both '<|endoftext|>' and '<|startoftranscript|>'");
}

TEST(ReadHuggingFaceDir, TakesHparamsFromConfigEvenWhenTheTensorsDisagree) {
  // The binder checks shapes against the hparams; the reader reports what config.json says.
  TinyCheckpoint ckpt;
  Json config = Json::parse(kConfig);
  config["d_model"] = 8;
  config["decoder_layers"] = 2;
  ckpt.dir.Write("config.json", config.dump());
  Result<TensorTable> table = ReadHuggingFaceDir(ckpt.dir.path());
  ASSERT_TRUE(table.ok()) << table.status().message();
  EXPECT_EQ(table->hparams.n_audio_state, 8);
  EXPECT_EQ(table->hparams.n_text_state, 8);
  EXPECT_EQ(table->hparams.n_text_layer, 2);
  EXPECT_EQ(table->tensors[table->Find("encoder.conv1.bias")].shape, (std::vector<int64_t>{4}));
}

TEST(ReadHuggingFaceDir, RejectsAnUntiedOutputProjection) {
  TinyCheckpoint ckpt;
  ckpt.tensors.back().bytes[3] ^= 1;
  ckpt.dir.Write("model.safetensors", Safetensors(ckpt.tensors));
  const Status st = ReadStatus(ckpt.dir.path());
  EXPECT_EQ(st.kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(st.message(), ckpt.dir.path() +
                              ": untied output projection: proj_out.weight differs from the token embedding");
}

TEST(ReadHuggingFaceDir, RejectsUnknownTensorsNamingFileAndTensor) {
  TinyCheckpoint ckpt;
  ckpt.tensors.push_back({"model.decoder.layers.0.adapter.weight", "F32", {2}, "", 99});
  const std::string file = ckpt.dir.Write("model.safetensors", Safetensors(ckpt.tensors));
  EXPECT_EQ(ReadStatus(ckpt.dir.path()).message(),
            file + ": tensor 'model.decoder.layers.0.adapter.weight' is not part of a transformers Whisper model");
}

TEST(ReadHuggingFaceDir, RejectsMissingOrBrokenSideFiles) {
  TinyCheckpoint ckpt;
  const std::string dir = ckpt.dir.path();
  std::filesystem::remove(dir + "/tokenizer.json");
  Status st = ReadStatus(dir);
  EXPECT_EQ(st.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(st.message(), dir + ": no tokenizer.json or vocab.json; the checkpoint's vocabulary is needed");

  ckpt.dir.Write("generation_config.json", R"({"alignment_heads": [[1, 0]]})");
  EXPECT_EQ(ReadStatus(dir).message(),
            dir + "/generation_config.json: alignment_heads[0] layer is 1, outside 0..0");
  ckpt.dir.Write("generation_config.json", R"({"suppress_tokens": [51865]})");
  EXPECT_EQ(ReadStatus(dir).message(), dir + "/generation_config.json: suppress_tokens[0] is 51865, outside 0..51864");

  ckpt.dir.Write("config.json", R"({"d_model": 4})");
  EXPECT_EQ(ReadStatus(dir).message(), dir + "/config.json: vocab_size is missing");
  ckpt.dir.Write("config.json", R"({"d_model": )");
  EXPECT_EQ(ReadStatus(dir).message(), dir + "/config.json: not valid JSON (error at byte 13)");
  std::filesystem::remove(dir + "/config.json");
  st = ReadStatus(dir);
  EXPECT_EQ(st.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(st.message(), dir + "/config.json: not found; a Hugging Face checkpoint needs its config.json");
}

TEST(ReadHuggingFaceDir, RejectsADirectoryOfUnrelatedFiles) {
  TempDir dir;
  dir.Write("README.md", "# notes\n");
  dir.Write("weights.bin", std::string(64, '\0'));
  const Status st = ReadStatus(dir.path());
  EXPECT_EQ(st.kind(), ErrorKind::kNotFound);
  EXPECT_EQ(st.message(),
            dir.path() + ": no model.safetensors or model.safetensors.index.json: not a Hugging Face checkpoint");
  EXPECT_EQ(ReadStatus(dir.path() + "/nothing").message(), dir.path() + "/nothing: no such file or directory");
  // A bare file that is not safetensors at all.
  dir.Write("config.json", kConfig);
  EXPECT_EQ(ReadStatus(dir.path() + "/README.md").message(),
            dir.path() + "/README.md: header length 753057113461104675 runs past the end of the file (8 bytes)");
}

}  // namespace
}  // namespace wisp

// openai-whisper's whisper/timing.py in C++. Comments name the python statement each step
// reproduces; where the official's numeric types matter (float32 tensors, numba's float64 cost
// matrix, numpy's rounding) the arithmetic follows them.
#include "pipeline/word_timestamps.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/vector_math.h"
#include "pipeline/segments.h"
#include "pipeline/text_metrics.h"

namespace wisp {
namespace {

using HeadList = std::vector<std::pair<int, int>>;

const kernels::Isa kIsa = kernels::DetectIsa();

// whisper/__init__.py _ALIGNMENT_HEADS, decoded (base85 -> gzip -> bool (layers, heads)),
// keyed by the dimensions that tell the published checkpoints apart.
struct PublishedHeads {
  const char* name;
  int n_text_state, n_text_layer, n_text_head, n_vocab;
  HeadList heads;
};

const std::vector<PublishedHeads>& PublishedTable() {
  static const std::vector<PublishedHeads> table = {
      {"tiny.en", 384, 4, 6, 51864, {{1, 0}, {2, 0}, {2, 5}, {3, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}}},
      {"tiny", 384, 4, 6, 51865, {{2, 2}, {3, 0}, {3, 2}, {3, 3}, {3, 4}, {3, 5}}},
      {"base.en", 512, 6, 8, 51864, {{3, 3}, {4, 7}, {5, 1}, {5, 5}, {5, 7}}},
      {"base", 512, 6, 8, 51865, {{3, 1}, {4, 2}, {4, 3}, {4, 7}, {5, 1}, {5, 2}, {5, 4}, {5, 6}}},
      {"small.en", 768, 12, 12, 51864, {{6, 6}, {7, 0}, {7, 3}, {7, 8}, {8, 2}, {8, 5}, {8, 7}, {9, 0}, {9, 4},
                                        {9, 8}, {9, 10}, {10, 0}, {10, 1}, {10, 2}, {10, 3}, {10, 6}, {10, 11},
                                        {11, 2}, {11, 4}}},
      {"small", 768, 12, 12, 51865, {{5, 3}, {5, 9}, {8, 0}, {8, 4}, {8, 7}, {8, 8}, {9, 0}, {9, 7}, {9, 9}, {10, 5}}},
      {"medium.en", 1024, 24, 16, 51864, {{11, 4}, {14, 1}, {14, 12}, {14, 14}, {15, 4}, {16, 0}, {16, 4}, {16, 9},
                                          {17, 12}, {17, 14}, {18, 7}, {18, 10}, {18, 15}, {20, 0}, {20, 3}, {20, 9},
                                          {20, 14}, {21, 12}}},
      {"medium", 1024, 24, 16, 51865, {{13, 15}, {15, 4}, {15, 15}, {16, 1}, {20, 0}, {23, 4}}},
      {"large-v1", 1280, 32, 20, 51865, {{9, 19}, {11, 2}, {11, 4}, {11, 17}, {22, 7}, {22, 11}, {22, 17}, {23, 2},
                                         {23, 15}}},
      {"large-v2", 1280, 32, 20, 51865, {{10, 12}, {13, 17}, {16, 11}, {16, 12}, {16, 13}, {17, 15}, {17, 16},
                                         {18, 4}, {18, 11}, {18, 19}, {19, 11}, {21, 2}, {21, 3}, {22, 3}, {22, 9},
                                         {22, 12}, {23, 5}, {23, 7}, {23, 13}, {25, 5}, {26, 1}, {26, 12}, {27, 15}}},
      {"large-v3", 1280, 32, 20, 51866, {{7, 0}, {10, 17}, {12, 18}, {13, 12}, {16, 1}, {17, 14}, {19, 11}, {21, 4},
                                         {24, 1}, {25, 6}}},
      {"large-v3-turbo", 1280, 4, 20, 51866, {{2, 4}, {2, 11}, {3, 3}, {3, 6}, {3, 11}, {3, 14}}},
  };
  return table;
}

// Python's `needle in haystack` for str on valid UTF-8: a byte substring of valid UTF-8 is a
// code-point substring, and "" is in every string.
bool PyIn(std::string_view needle, std::string_view haystack) {
  return haystack.find(needle) != std::string_view::npos;
}

std::vector<uint32_t> CodePoints(std::string_view utf8) {
  std::vector<uint32_t> out;
  size_t pos = 0;
  while (pos < utf8.size()) out.push_back(NextCodePoint(utf8, &pos));
  return out;
}

constexpr uint32_t kReplacementChar = 0xFFFD;

// numpy's round(np.float64, 2): y = rint(x * 100) / 100 (not python's correctly rounded round,
// which differs for about 4% of values). The timings are numpy float64 scalars, so this is it.
double NumpyRound2(double x) { return std::nearbyint(x * 100.0) / 100.0; }

// np.median over a non-empty vector: the middle value, or the mean of the two middle values.
double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

}  // namespace

std::vector<std::pair<int, int>> DefaultAlignmentHeads(const HParams& hp) {
  HeadList heads;
  for (int l = hp.n_text_layer / 2; l < hp.n_text_layer; ++l) {
    for (int h = 0; h < hp.n_text_head; ++h) heads.emplace_back(l, h);
  }
  return heads;
}

std::vector<std::pair<int, int>> PublishedAlignmentHeads(const HParams& hp) {
  const PublishedHeads* found = nullptr;
  for (const PublishedHeads& p : PublishedTable()) {
    if (p.n_text_state != hp.n_text_state || p.n_text_layer != hp.n_text_layer || p.n_text_head != hp.n_text_head ||
        p.n_vocab != hp.n_vocab) {
      continue;
    }
    if (found != nullptr && found->heads != p.heads) return {};  // large-v1 / large-v2: ambiguous
    found = &p;
  }
  return found != nullptr ? found->heads : HeadList{};
}

std::vector<std::pair<int, int>> ResolveAlignmentHeads(const ModelMetadata& metadata, const HParams& hp) {
  if (!metadata.alignment_heads.empty()) return metadata.alignment_heads;
  HeadList published = PublishedAlignmentHeads(hp);
  return !published.empty() ? published : DefaultAlignmentHeads(hp);
}

std::vector<float> MedianFilter(std::span<const float> x, int64_t rows, int64_t width, int filter_width) {
  std::vector<float> out(x.begin(), x.end());
  const int64_t pad = filter_width / 2;
  if (width <= pad) return out;  // F.pad's reflect mode needs pad < width; the official skips
  std::vector<float> padded(width + 2 * pad), window(filter_width);
  // torch.sort places NaN after every number.
  auto less = [](float a, float b) { return std::isnan(b) ? !std::isnan(a) : a < b; };
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x.data() + r * width;
    // Reflect padding (the edge itself not repeated): index -k -> k, width-1+k -> width-1-k.
    bool has_nan = false;
    for (int64_t i = 0; i < width + 2 * pad; ++i) {
      int64_t j = i - pad;
      if (j < 0) j = -j;
      if (j >= width) j = 2 * (width - 1) - j;
      padded[i] = row[j];
      has_nan |= std::isnan(row[j]);
    }
    if (filter_width == 7 && !has_nan) {
      // The default width by a sorting network, many positions at a time: nth_element per
      // position was the word pass's largest cost (~1 M windows of 7 per 30-s window of
      // tiny.en). Without NaN the 4th smallest of 7 is one value whatever finds it.
      kernels::Median7(kIsa, padded.data(), width, out.data() + r * width);
      continue;
    }
    for (int64_t t = 0; t < width; ++t) {
      std::copy(padded.begin() + t, padded.begin() + t + filter_width, window.begin());
      std::nth_element(window.begin(), window.begin() + pad, window.end(), less);
      out[r * width + t] = window[pad];
    }
  }
  return out;
}

DtwPath Dtw(std::span<const double> x, int n, int m) {
  // numba types cost as float64 (a float32 array times the float64 inf); trace stays float32
  // but only ever holds 0, 1, 2.
  const double inf = std::numeric_limits<double>::infinity();
  const int64_t w = m + 1;
  std::vector<double> cost(static_cast<size_t>(n + 1) * w, inf);
  std::vector<int8_t> trace(cost.size(), -1);
  cost[0] = 0;
  for (int j = 1; j <= m; ++j) {
    for (int i = 1; i <= n; ++i) {
      const double c0 = cost[(i - 1) * w + j - 1], c1 = cost[(i - 1) * w + j], c2 = cost[i * w + j - 1];
      double c;
      int8_t t;
      if (c0 < c1 && c0 < c2) {
        c = c0, t = 0;
      } else if (c1 < c0 && c1 < c2) {
        c = c1, t = 1;
      } else {
        c = c2, t = 2;
      }
      cost[i * w + j] = x[static_cast<size_t>(i - 1) * m + j - 1] + c;
      trace[i * w + j] = t;
    }
  }
  // backtrace: the first row moves left, the first column up (the corner ends the walk).
  for (int j = 0; j <= m; ++j) trace[j] = 2;
  for (int i = 0; i <= n; ++i) trace[i * w] = 1;
  DtwPath path;
  int i = n, j = m;
  while (i > 0 || j > 0) {
    path.text_indices.push_back(i - 1);
    path.time_indices.push_back(j - 1);
    const int8_t t = trace[i * w + j];
    if (t == 0) {
      --i, --j;
    } else if (t == 1) {
      --i;
    } else {
      --j;
    }
  }
  std::reverse(path.text_indices.begin(), path.text_indices.end());
  std::reverse(path.time_indices.begin(), path.time_indices.end());
  return path;
}

WordSplit SplitToWordTokens(const Tokenizer& tokenizer, const std::vector<int>& tokens, std::string_view language) {
  // split_tokens_on_unicode: close a subword once its decoding has no U+FFFD, or its first U+FFFD
  // is also in the decoding of the whole sequence (bytes that are invalid for good).
  const std::vector<uint32_t> full = CodePoints(ReplaceInvalidUtf8(tokenizer.DecodeWithTimestamps(tokens)));
  WordSplit subwords;
  std::vector<int> current;
  size_t unicode_offset = 0;
  for (int token : tokens) {
    current.push_back(token);
    const std::string decoded = ReplaceInvalidUtf8(tokenizer.DecodeWithTimestamps(current));
    const std::vector<uint32_t> cps = CodePoints(decoded);
    const auto bad = std::find(cps.begin(), cps.end(), kReplacementChar);
    bool complete = bad == cps.end();
    if (!complete) {
      // Out of range would be python's IndexError; it cannot happen for a prefix of the tokens.
      const size_t at = unicode_offset + static_cast<size_t>(bad - cps.begin());
      complete = at < full.size() && full[at] == kReplacementChar;
    }
    if (complete) {
      subwords.words.push_back(decoded);
      subwords.word_tokens.push_back(std::move(current));
      current.clear();
      unicode_offset += cps.size();
    }
  }
  static constexpr std::string_view kUnicodeSplit[] = {"zh", "ja", "th", "lo", "my", "yue"};
  if (std::find(std::begin(kUnicodeSplit), std::end(kUnicodeSplit), language) != std::end(kUnicodeSplit)) {
    return subwords;
  }
  // split_tokens_on_spaces. string.punctuation, tested with `in` (a substring test).
  static constexpr std::string_view kPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  WordSplit out;
  for (size_t i = 0; i < subwords.words.size(); ++i) {
    const std::string& subword = subwords.words[i];
    const bool special = subwords.word_tokens[i][0] >= tokenizer.eot();
    const bool with_space = !subword.empty() && subword[0] == ' ';
    const bool punctuation = PyIn(StripPythonWhitespace(subword), kPunctuation);
    if (special || with_space || punctuation || out.words.empty()) {
      out.words.push_back(subword);
      out.word_tokens.push_back(subwords.word_tokens[i]);
    } else {
      out.words.back() += subword;
      out.word_tokens.back().insert(out.word_tokens.back().end(), subwords.word_tokens[i].begin(),
                                    subwords.word_tokens[i].end());
    }
  }
  return out;
}

void MergePunctuations(std::vector<WordTiming>* alignment, std::string_view prepended, std::string_view appended) {
  std::vector<WordTiming>& a = *alignment;
  const int n = static_cast<int>(a.size());
  // Prepended punctuation, from the end backwards: j is the word that absorbs.
  for (int i = n - 2, j = n - 1; i >= 0; --i) {
    WordTiming& previous = a[i];
    WordTiming& following = a[j];
    if (!previous.word.empty() && previous.word[0] == ' ' && PyIn(StripPythonWhitespace(previous.word), prepended)) {
      following.word = previous.word + following.word;
      previous.tokens.insert(previous.tokens.end(), following.tokens.begin(), following.tokens.end());
      following.tokens = std::move(previous.tokens);
      previous.word.clear();
      previous.tokens.clear();
    } else {
      j = i;
    }
  }
  // Appended punctuation, forwards: i is the word that absorbs.
  for (int i = 0, j = 1; j < n; ++j) {
    WordTiming& previous = a[i];
    WordTiming& following = a[j];
    if (!(previous.word.size() > 0 && previous.word.back() == ' ') && PyIn(following.word, appended)) {
      previous.word += following.word;
      previous.tokens.insert(previous.tokens.end(), following.tokens.begin(), following.tokens.end());
      following.word.clear();
      following.tokens.clear();
    } else {
      i = j;
    }
  }
}

std::vector<double> TextTokenProbabilities(std::span<const float> logits, int n_vocab, int sot_sequence_len,
                                           const std::vector<int>& text_tokens, int eot) {
  // logits[len(sot_sequence):, :eot].softmax(-1) in float32, read back as python floats: per
  // row the exp in float as torch's kernel computes it (kernels::ExpShifted, bit for bit
  // std::exp), summed in double in column order. Rows go in groups of four so that the four
  // sums' chains of dependent adds overlap (each row's order is unchanged), and the exps a
  // chunk at a time so that they stay in L1.
  constexpr size_t kGroup = 4;
  constexpr int kChunk = 2048;
  const size_t n = text_tokens.size();
  std::vector<double> probs(n);
  std::vector<float> e(kGroup * kChunk);
  for (size_t g = 0; g < n; g += kGroup) {
    const size_t m = std::min(kGroup, n - g);
    const float* rows[kGroup];
    float mx[kGroup];
    double sum[kGroup] = {};
    for (size_t r = 0; r < m; ++r) {
      rows[r] = logits.data() + (sot_sequence_len + g + r) * static_cast<size_t>(n_vocab);
      mx[r] = kernels::MaxValue(kIsa, rows[r], eot);
    }
    for (int c0 = 0; c0 < eot; c0 += kChunk) {
      const int len = std::min(kChunk, eot - c0);
      for (size_t r = 0; r < m; ++r) kernels::ExpShifted(kIsa, rows[r] + c0, len, mx[r], e.data() + r * kChunk);
      if (m == kGroup) {
        double s0 = sum[0], s1 = sum[1], s2 = sum[2], s3 = sum[3];
        for (int v = 0; v < len; ++v) {
          s0 += e[v];
          s1 += e[kChunk + v];
          s2 += e[2 * kChunk + v];
          s3 += e[3 * kChunk + v];
        }
        sum[0] = s0, sum[1] = s1, sum[2] = s2, sum[3] = s3;
      } else {
        for (size_t r = 0; r < m; ++r) {
          for (int v = 0; v < len; ++v) sum[r] += e[r * kChunk + v];
        }
      }
    }
    for (size_t r = 0; r < m; ++r) {
      const int t = text_tokens[g + r];
      probs[g + r] = static_cast<float>(std::exp(rows[r][t] - mx[r]) / sum[r]);
    }
  }
  return probs;
}

std::vector<WordTiming> FindAlignmentFromScores(std::span<const float> scores, int n_heads, int n_audio_ctx,
                                                int sot_sequence_len, const std::vector<int>& text_tokens,
                                                const std::vector<double>& text_token_probs, int num_frames,
                                                const Tokenizer& tokenizer, std::string_view language,
                                                const AlignmentParams& params) {
  if (text_tokens.empty()) return {};
  const int n_tokens = sot_sequence_len + 2 + static_cast<int>(text_tokens.size());
  // weights[:, :, :num_frames // 2], then softmax(qk * qk_scale) over those frames only.
  const int frames = std::clamp(num_frames / 2, 0, n_audio_ctx);
  std::vector<float> weights(static_cast<size_t>(n_heads) * n_tokens * frames);
  std::vector<double> exps(frames);
  for (int64_t r = 0; r < static_cast<int64_t>(n_heads) * n_tokens; ++r) {
    const float* in = scores.data() + r * n_audio_ctx;
    float* out = weights.data() + r * frames;
    if (frames == 0) continue;
    double mx = -std::numeric_limits<double>::infinity();
    for (int t = 0; t < frames; ++t) mx = std::max(mx, static_cast<double>(in[t]) * params.qk_scale);
    double sum = 0;
    for (int t = 0; t < frames; ++t) {
      exps[t] = std::exp(static_cast<double>(in[t]) * params.qk_scale - mx);  // once, not twice
      sum += exps[t];
    }
    for (int t = 0; t < frames; ++t) out[t] = static_cast<float>(exps[t] / sum);
  }
  // std_mean over the tokens (dim -2, population std), then (weights - mean) / std. Every
  // column's sums run over the tokens in order, as one column at a time would; the loops go
  // row by row so that they stream (a column walk strides a whole row per step).
  std::vector<double> mean(frames), var(frames);
  std::vector<float> mean_f(frames), std_f(frames);
  for (int h = 0; h < n_heads; ++h) {
    float* w = weights.data() + static_cast<int64_t>(h) * n_tokens * frames;
    std::fill(mean.begin(), mean.end(), 0.0);
    std::fill(var.begin(), var.end(), 0.0);
    for (int i = 0; i < n_tokens; ++i) {
      for (int t = 0; t < frames; ++t) mean[t] += w[i * frames + t];
    }
    for (int t = 0; t < frames; ++t) mean[t] /= n_tokens;
    for (int i = 0; i < n_tokens; ++i) {
      for (int t = 0; t < frames; ++t) var[t] += (w[i * frames + t] - mean[t]) * (w[i * frames + t] - mean[t]);
    }
    for (int t = 0; t < frames; ++t) {
      std_f[t] = static_cast<float>(std::sqrt(var[t] / n_tokens));
      mean_f[t] = static_cast<float>(mean[t]);
    }
    for (int i = 0; i < n_tokens; ++i) {
      for (int t = 0; t < frames; ++t) w[i * frames + t] = (w[i * frames + t] - mean_f[t]) / std_f[t];
    }
  }
  weights = MedianFilter(weights, static_cast<int64_t>(n_heads) * n_tokens, frames, params.medfilt_width);
  // matrix = weights.mean(axis=0)[len(sot_sequence):-1]; DTW on -matrix in float64. The sums over
  // the heads accumulate in cost itself, head by head (the order of a per-element loop).
  const int n = n_tokens - 1 - sot_sequence_len;
  std::vector<double> cost(static_cast<size_t>(n) * frames, 0.0);
  for (int h = 0; h < n_heads; ++h) {
    for (int i = 0; i < n; ++i) {
      const float* w = weights.data() + (static_cast<int64_t>(h) * n_tokens + sot_sequence_len + i) * frames;
      double* c = cost.data() + static_cast<size_t>(i) * frames;
      for (int t = 0; t < frames; ++t) c[t] += w[t];
    }
  }
  for (double& c : cost) c = -static_cast<double>(static_cast<float>(c / n_heads));
  const DtwPath path = Dtw(cost, n, frames);

  std::vector<int> with_eot = text_tokens;
  with_eot.push_back(tokenizer.eot());
  WordSplit split = SplitToWordTokens(tokenizer, with_eot, language);
  if (split.word_tokens.size() <= 1) return {};
  // word_boundaries = [0, cumsum(len(t) for t in word_tokens[:-1])...]
  std::vector<size_t> boundaries = {0};
  for (size_t w = 0; w + 1 < split.word_tokens.size(); ++w) {
    boundaries.push_back(boundaries.back() + split.word_tokens[w].size());
  }
  // jump_times: the time index at which the path first reaches each text row, / 50 per second.
  std::vector<double> jump_times;
  for (size_t k = 0; k < path.text_indices.size(); ++k) {
    if (k == 0 || path.text_indices[k] != path.text_indices[k - 1]) {
      jump_times.push_back(static_cast<double>(path.time_indices[k]) / 50.0);
    }
  }
  std::vector<WordTiming> out;
  for (size_t w = 0; w + 1 < boundaries.size(); ++w) {
    const size_t b0 = boundaries[w], b1 = boundaries[w + 1];
    if (b1 >= jump_times.size()) break;  // cannot happen for a path through every row
    double sum = 0;
    for (size_t k = b0; k < b1; ++k) sum += text_token_probs[k];
    WordTiming timing;
    timing.word = split.words[w];
    timing.tokens = split.word_tokens[w];
    timing.start = jump_times[b0];
    timing.end = jump_times[b1];
    // np.mean of an empty slice is nan (with a warning); a word always has a token.
    timing.probability = b1 > b0 ? sum / static_cast<double>(b1 - b0) : std::nan("");
    out.push_back(std::move(timing));
  }
  return out;
}

void ApplyWordAlignment(std::vector<WordTiming> alignment, std::span<Segment> segments, int eot,
                        double last_speech_timestamp, std::string_view prepend_punctuations,
                        std::string_view append_punctuations) {
  if (segments.empty()) return;
  std::vector<double> durations;
  for (const WordTiming& t : alignment) {
    if (t.end - t.start != 0) durations.push_back(t.end - t.start);
  }
  const double median_duration = std::min(0.7, durations.empty() ? 0.0 : Median(durations));
  const double max_duration = median_duration * 2;

  // Truncate long words at sentence boundaries.
  if (!durations.empty()) {
    static constexpr std::string_view kSentenceEnd = ".\u3002!\uff01?\uff1f";
    for (size_t i = 1; i < alignment.size(); ++i) {
      if (alignment[i].end - alignment[i].start > max_duration) {
        if (PyIn(alignment[i].word, kSentenceEnd)) {
          alignment[i].end = alignment[i].start + max_duration;
        } else if (PyIn(alignment[i - 1].word, kSentenceEnd)) {
          alignment[i].start = alignment[i].end - max_duration;
        }
      }
    }
  }
  MergePunctuations(&alignment, prepend_punctuations, append_punctuations);

  const double time_offset = FramesToSeconds(segments[0].seek);
  size_t word_index = 0;
  for (Segment& segment : segments) {
    size_t n_text = 0;
    for (int t : segment.tokens) n_text += t < eot;
    size_t saved_tokens = 0;
    std::vector<Word> words;
    while (word_index < alignment.size() && saved_tokens < n_text) {
      const WordTiming& timing = alignment[word_index];
      if (!timing.word.empty()) {
        words.push_back({timing.word, NumpyRound2(time_offset + timing.start), NumpyRound2(time_offset + timing.end),
                         timing.probability});
      }
      saved_tokens += timing.tokens.size();
      ++word_index;
    }
    if (!words.empty()) {
      Word& first = words.front();
      // The first (and second) word after a pause: at most twice the median word duration.
      if (first.end - last_speech_timestamp > median_duration * 4 &&
          (first.end - first.start > max_duration ||
           (words.size() > 1 && words[1].end - first.start > max_duration * 2))) {
        if (words.size() > 1 && words[1].end - words[1].start > max_duration) {
          const double boundary = std::max(words[1].end / 2, words[1].end - max_duration);
          first.end = words[1].start = boundary;
        }
        // python's max(0, x) returns the int 0 unless x > 0.
        const double x = first.end - max_duration;
        first.start = x > 0 ? x : 0.0;
        first.start_is_int_zero = !(x > 0);
      }
      // Prefer the segment-level start timestamp if the first word is too long.
      if (segment.start < first.end && segment.start - 0.5 > first.start) {
        const double a = first.end - median_duration, b = segment.start;
        const double x = b < a ? b : a;  // min(a, b) returns a unless b < a
        first.start = x > 0 ? x : 0.0;
        first.start_is_int_zero = !(x > 0);
      } else {
        segment.start = first.start;
      }
      // Prefer the segment-level end timestamp if the last word is too long.
      Word& last = words.back();
      if (segment.end > last.start && segment.end + 0.5 < last.end) {
        const double a = last.start + median_duration, b = segment.end;
        last.end = b > a ? b : a;
      } else {
        segment.end = last.end;
      }
      last_speech_timestamp = segment.end;
    }
    segment.words = std::move(words);
  }
}

std::span<float> AlignmentModel::Scratch::Get(size_t n) {
  if (n > capacity) {
    capacity = std::max(n, capacity + capacity / 2);
    data.reset(new float[capacity]);  // default-initialised: not zeroed
  }
  return {data.get(), n};
}

Status AddWordTimestamps(std::span<Segment> segments, const Tokenizer& tokenizer, const AlignmentModel& model,
                         int num_frames, double last_speech_timestamp, const WordTimestampOptions& options) {
  if (segments.empty()) return Status::Ok();
  if (model.weights == nullptr || model.state == nullptr) return InvalidArgument("word timestamps need a model");
  const HParams& hp = model.weights->hparams;
  if (model.heads.empty()) return InvalidArgument("word timestamps need at least one alignment head");
  for (const auto& [layer, head] : model.heads) {
    if (layer < 0 || layer >= hp.n_text_layer || head < 0 || head >= hp.n_text_head) {
      return InvalidArgument("alignment head (" + std::to_string(layer) + ", " + std::to_string(head) +
                             ") is not in a decoder of " + std::to_string(hp.n_text_layer) + " layers of " +
                             std::to_string(hp.n_text_head) + " heads");
    }
  }
  const std::vector<int> sot_sequence = tokenizer.SotSequence(options.language, options.task);
  if (sot_sequence.empty()) {
    return InvalidArgument("no sot sequence for language '" + options.language + "' and task '" + options.task + "'");
  }
  std::vector<int> text_tokens;
  for (const Segment& s : segments) {
    for (int t : s.tokens) {
      if (t < tokenizer.eot()) text_tokens.push_back(t);
    }
  }
  std::vector<WordTiming> alignment;
  if (!text_tokens.empty()) {
    std::vector<int32_t> tokens(sot_sequence.begin(), sot_sequence.end());
    tokens.push_back(tokenizer.no_timestamps());
    tokens.insert(tokens.end(), text_tokens.begin(), text_tokens.end());
    tokens.push_back(tokenizer.eot());
    const int n = static_cast<int>(tokens.size());
    if (n > hp.n_text_ctx) {
      return InvalidArgument("word timestamps: " + std::to_string(n) + " tokens exceed the decoder's context of " +
                             std::to_string(hp.n_text_ctx));
    }
    const int n_heads = static_cast<int>(model.heads.size());
    // The window's audio context: hp.n_audio_ctx, or fewer positions for a short-audio window.
    const int n_ctx = model.state->n_audio_ctx > 0 ? model.state->n_audio_ctx : hp.n_audio_ctx;
    const std::span<float> scores = model.scores_scratch.Get(static_cast<size_t>(n_heads) * n * n_ctx);
    const std::span<float> logits = model.logits_scratch.Get(static_cast<size_t>(n) * hp.n_vocab);
    RunDecoderWithCrossAttentionScores(*model.weights, model.ctx, model.state, tokens.data(), n, model.heads,
                                       scores.data(), logits.data());
    const std::vector<double> probs = TextTokenProbabilities(logits, hp.n_vocab, static_cast<int>(sot_sequence.size()),
                                                             text_tokens, tokenizer.eot());
    alignment = FindAlignmentFromScores(scores, n_heads, n_ctx, static_cast<int>(sot_sequence.size()),
                                        text_tokens, probs, num_frames, tokenizer, options.language,
                                        options.alignment);
  }
  ApplyWordAlignment(std::move(alignment), segments, tokenizer.eot(), last_speech_timestamp,
                     options.prepend_punctuations, options.append_punctuations);
  return Status::Ok();
}

std::optional<double> LastWordEnd(std::span<const Segment> segments) {
  for (auto s = segments.rbegin(); s != segments.rend(); ++s) {
    if (!s->words.empty()) return s->words.back().end;
  }
  if (segments.empty()) return std::nullopt;
  return segments.back().end;
}

}  // namespace wisp

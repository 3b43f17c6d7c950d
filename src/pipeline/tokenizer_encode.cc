// Tokenizer::Encode: tiktoken's encode_ordinary for Whisper's encodings. Two stages, each
// written by hand so that ids equal python-tiktoken's for every input:
//  1. pre-tokenisation by GPT-2's regex
//       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     evaluated as a leftmost-first (backtracking) engine does: at each position the first
//     alternative that matches wins, with its greedy length;
//  2. byte-level BPE on each piece: a piece that is itself a token is emitted directly (tiktoken
//     checks this first), otherwise adjacent parts are merged lowest rank first, the leftmost
//     pair on ties, until no adjacent pair forms a token.
#include <cstdint>
#include <functional>
#include <queue>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/tokenizer.h"
#include "pipeline/unicode_tables.h"

namespace wisp {
namespace {

// Length in bytes of the regex match starting at pos (pos < text.size(); always >= 1).
size_t MatchLength(std::string_view text, size_t pos) {
  const size_t n = text.size();
  // 's|'t|'re|'ve|'m|'ll|'d  (case-sensitive, no word-boundary: "'sam" splits as "'s" "am").
  if (text[pos] == '\'' && pos + 1 < n) {
    const char a = text[pos + 1];
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if (pos + 2 < n) {
      const char b = text[pos + 2];
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
  }
  const Utf8Char first = DecodeUtf8At(text, pos);
  // ` ?X+` for X in {L, N, other}: the optional prefix is U+0020 only (not any \s), and it can
  // only matter when the first character is that space, which is in none of the three classes.
  size_t body = pos;
  CharClass cls = first.cls;
  if (text[pos] == ' ' && pos + 1 < n) {
    const Utf8Char next = DecodeUtf8At(text, pos + 1);
    if (next.cls != CharClass::kSpace) {
      body = pos + 1;
      cls = next.cls;
    }
  }
  if (cls != CharClass::kSpace) {
    size_t end = body;
    while (end < n) {
      const Utf8Char c = DecodeUtf8At(text, end);
      if (c.cls != cls) break;
      end += c.len;
    }
    return end - pos;
  }
  // A whitespace run. \s+(?!\S) takes all of it when it reaches the end of the text; before a
  // non-space it backtracks by one character, leaving the last space to prefix the next word
  // (" ?\p{L}+" etc.), unless the run is a single character, which then \s+ takes alone.
  size_t end = pos, last_start = pos;
  while (end < n) {
    const Utf8Char c = DecodeUtf8At(text, end);
    if (c.cls != CharClass::kSpace) break;
    last_start = end;
    end += c.len;
  }
  if (end == n || last_start == pos) return end - pos;
  return last_start - pos;
}

}  // namespace

void Tokenizer::EncodePiece(std::string_view piece, std::vector<int>* out) const {
  if (const int whole = Rank(piece); whole >= 0) {
    out->push_back(whole);
    return;
  }
  // Parts form a linked list over the piece's bytes; pair_rank[i] is the rank of part i joined
  // with its successor. A min-heap keyed by (rank, start offset) reproduces tiktoken's "lowest
  // rank, leftmost first" scan in O(n log n), which matters for long runs of letters or symbols
  // (tiktoken's own loop is quadratic). Stale heap entries are recognised by comparing against
  // the current pair rank: equal means the entry is still the right merge.
  const int n = static_cast<int>(piece.size());
  constexpr int kNone = -1;
  std::vector<int> next(n), prev(n), pair_rank(n, kNone);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    next[i] = i + 1 < n ? i + 1 : kNone;
    prev[i] = i - 1;
  }
  auto end_of = [&](int i) { return next[i] == kNone ? n : next[i]; };
  auto rank_of_pair = [&](int i) {
    if (next[i] == kNone) return kNone;
    const int stop = end_of(next[i]);
    return Rank(piece.substr(i, stop - i));
  };
  using Entry = std::pair<int, int>;  // (rank, start)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  for (int i = 0; i + 1 < n; ++i) {
    pair_rank[i] = rank_of_pair(i);
    if (pair_rank[i] != kNone) heap.push({pair_rank[i], i});
  }
  while (!heap.empty()) {
    const auto [rank, i] = heap.top();
    heap.pop();
    if (!alive[i] || pair_rank[i] != rank) continue;
    // Merge part i with its successor j.
    const int j = next[i];
    alive[j] = false;
    next[i] = next[j];
    if (next[j] != kNone) prev[next[j]] = i;
    pair_rank[i] = rank_of_pair(i);
    if (pair_rank[i] != kNone) heap.push({pair_rank[i], i});
    if (prev[i] >= 0) {
      const int p = prev[i];
      pair_rank[p] = rank_of_pair(p);
      if (pair_rank[p] != kNone) heap.push({pair_rank[p], p});
    }
  }
  for (int i = 0; i != kNone; i = next[i]) {
    const int r = Rank(piece.substr(i, end_of(i) - i));
    // Every single byte has a rank (checked at load) and merges only form tokens, so r >= 0.
    out->push_back(r);
  }
}

std::vector<int> Tokenizer::Encode(std::string_view text) const {
  std::vector<int> ids;
  ids.reserve(text.size() / 3 + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t len = MatchLength(text, pos);
    EncodePiece(text.substr(pos, len), &ids);
    pos += len;
  }
  return ids;
}

}  // namespace wisp

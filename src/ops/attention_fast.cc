// Fast multi-head attention. Scores, scale, causal mask, softmax and the value product run
// per (head, block of queries), so only a (block x n_kv) tile of scores ever exists, never the
// n_q x n_kv matrix (1500 x 1500 per head in the encoder).
// - Many queries (encoder, decoder prompt): K^T and V of each head are packed into GEMM panels
//   once per call, and both products run on the packed outer-product kernel.
// - Few queries (one decoding step) over K/V that change every call (the self-attention cache):
//   packing would cost as much as the products, so scores are dot products against the K rows
//   and the output a weighted sum of the V rows.
// - K/V fixed across calls (cross-attention within a window): packed once (PrepareKv), then
//   every step runs the packed kernels, whatever its number of queries.
// With bf16 (compute type bf16, AVX512_BF16 or Arm BF16), the packed paths hold K^T and V in bf16 panels and
// round Q and the unnormalised probabilities to bf16 before each product (vdpbf16ps or bfmmla,
// f32 accumulation); scale, mask, softmax and the division by the row sums stay f32. The few-query
// path over a changing cache stays f32: its products are dot products, not panel GEMMs.
// With int8 (compute type int8, AVX-512 VNNI; Attention's packed path only, not prepared K/V),
// both products run on the integer GEMM of kernels/gemm_q8_int.h: Q and K quantized per 32-block
// along head_dim, the unnormalised probabilities and V per 32-block along the keys (V transposed
// so the keys are the product's inner axis; keys padded with zeros to a multiple of 32). The
// probabilities lie in [0, 1] with the row's largest exactly 1, so a block's scale is its own
// largest probability / 127: small blocks keep their relative precision, which one u8 scale of
// 1/255 per row would not.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"
#include "kernels/gemm_q8_int.h"
#include "kernels/vector_math.h"
#include "ops/ops_fast.h"

namespace wisp::fast {
namespace {

const kernels::Isa kIsa = kernels::DetectIsa();
const kernels::Bf16Isa kBf16Isa = kernels::DetectBf16Isa();
const kernels::Q8IntIsa kQ8Isa = kernels::DetectQ8IntIsa();

// The integer products' inner axes are whole 32-blocks: keys padded to the next multiple.
int64_t Int8Keys(int64_t n_kv) { return (n_kv + 31) / 32 * 32; }

// Unnormalised softmax of row[0, visible) at the given scale, in place: exp(s - max); zeroes
// row[visible, width). Returns the sum, by which the caller divides the (short) output row
// instead of the (long) probability row.
float ScaledExpRow(float* row, int64_t visible, int64_t width, float scale) {
  const float mx = kernels::MaxValue(kIsa, row, visible);
  const float sum = kernels::ScaledExpSum(kIsa, row, visible, scale, mx * scale);
  for (int64_t j = visible; j < width; ++j) row[j] = 0.0f;
  return sum;
}

// Softmax of row[0, visible) at the given scale, in place.
void ScaledSoftmax(float* row, int64_t visible, float scale) {
  const float inv = 1.0f / ScaledExpRow(row, visible, visible, scale);
  for (int64_t j = 0; j < visible; ++j) row[j] *= inv;
}

void RunJobs(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool == nullptr) return fn(0, n);
  pool->ParallelFor(n, 1, fn);
}

}  // namespace

void PackKv(ThreadPool* pool, PreparedKv* kv, bool bf16) {
  bf16 = bf16 && kBf16Isa != kernels::Bf16Isa::kGeneric;
  const size_t kt_size = bf16 ? kernels::PackedSizeBf16(kv->head_dim, kv->n_kv)
                              : kernels::PackedSize(kIsa, kv->head_dim, kv->n_kv);
  const size_t v_size = bf16 ? kernels::PackedSizeBf16(kv->n_kv, kv->head_dim)
                             : kernels::PackedSize(kIsa, kv->n_kv, kv->head_dim);
  kv->kt_panels.clear();
  kv->v_panels.clear();
  kv->kt_bf16.clear();
  kv->v_bf16.clear();
  if (bf16) {
    kv->kt_bf16.resize(kt_size * kv->n_heads);
    kv->v_bf16.resize(v_size * kv->n_heads);
  } else {
    kv->kt_panels.resize(kt_size * kv->n_heads);
    kv->v_panels.resize(v_size * kv->n_heads);
  }
  RunJobs(pool, kv->n_heads, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      const float *k = kv->k + h * kv->head_dim, *v = kv->v + h * kv->head_dim;
      if (bf16) {
        kernels::PackTransposedBf16(kBf16Isa, k, kv->ldk, kv->n_kv, kv->head_dim, kv->kt_bf16.data() + h * kt_size);
        kernels::PackRowMajorBf16(kBf16Isa, v, kv->ldv, kv->n_kv, kv->head_dim, kv->v_bf16.data() + h * v_size);
      } else {
        kernels::PackTransposed(kIsa, k, kv->ldk, kv->n_kv, kv->head_dim, kv->kt_panels.data() + h * kt_size);
        kernels::PackRowMajor(kIsa, v, kv->ldv, kv->n_kv, kv->head_dim, kv->v_panels.data() + h * v_size);
      }
    }
  });
}

namespace {

// Queries per job: a multiple of the AVX-512 kernel's 12 rows (and of AVX2's 6, generic's 4).
// The block's scores (kQBlock x n_kv) stay in L2 beside one head's packed K^T and V.
constexpr int64_t kQBlock = 48;

// One head's packed K^T and V: f32 panels (kt, vp), bf16 ones (kt16, vp16) or integer ones (kt8:
// K's rows; vp8: V^T's rows over Int8Keys(n_kv) keys).
struct HeadPanels {
  const float *kt = nullptr, *vp = nullptr;
  const uint16_t *kt16 = nullptr, *vp16 = nullptr;
  const uint8_t *kt8 = nullptr, *vp8 = nullptr;
};

// Per-job buffers: the block's f32 scores (row stride lds), for bf16 its rounded queries and
// probabilities, for int8 their quantized blocks (qa, sa, ca: one set serves both products).
struct AttendScratch {
  std::vector<float> s;
  std::vector<uint16_t> q16, p16;
  std::vector<int8_t> qa;
  std::vector<float> sa;
  std::vector<int32_t> ca;
  AttendScratch(int64_t rows, int64_t lds, int64_t head_dim, bool bf16, bool int8)
      : s(static_cast<size_t>(rows * lds)),
        q16(bf16 ? static_cast<size_t>(rows * kernels::Bf16EvenK(head_dim)) : 0),
        p16(bf16 ? static_cast<size_t>(rows * kernels::Bf16EvenK(lds)) : 0),
        qa(int8 ? static_cast<size_t>(rows * std::max(lds, head_dim)) : 0),
        sa(qa.size() / 32),
        ca(qa.size() / 32) {}
};

// One head's K rows and V^T (zero past n_kv) into integer panels; vt, qa, sa: scratch.
void PackHeadInt8(const float* k, int64_t ldk, const float* v, int64_t ldv, int64_t n_kv, int64_t head_dim,
                  uint8_t* kt8, uint8_t* vp8, std::vector<float>* vt, std::vector<int8_t>* qa,
                  std::vector<float>* sa) {
  const int64_t keys = Int8Keys(n_kv);
  vt->resize(static_cast<size_t>(head_dim * keys));
  qa->resize(static_cast<size_t>(head_dim * keys));  // K: n_kv x head_dim; V^T: head_dim x keys
  sa->resize(qa->size() / 32);
  kernels::PackRowsQ8Int(kQ8Isa, k, ldk, n_kv, head_dim, kt8, qa->data(), sa->data());
  for (int64_t j = 0; j < n_kv; ++j) {
    const float* vr = v + j * ldv;
    for (int64_t c = 0; c < head_dim; ++c) (*vt)[c * keys + j] = vr[c];
  }
  for (int64_t c = 0; c < head_dim; ++c) std::fill(vt->data() + c * keys + n_kv, vt->data() + (c + 1) * keys, 0.0f);
  kernels::PackRowsQ8Int(kQ8Isa, vt->data(), keys, head_dim, keys, vp8, qa->data(), sa->data());
}

// Queries [i0, i1) of one head against its packed K^T and V panels: scores, the unnormalised
// softmax, P·V, and the division by the row sums on the short output rows. q and out point at
// the head's first column.
void AttendBlock(const float* q, int64_t ldq, int64_t i0, int64_t i1, const HeadPanels& p, int64_t n_kv,
                 int64_t head_dim, bool causal, int64_t q_offset, float scale, AttendScratch* b, float* out,
                 int64_t ldo) {
  const int64_t kv_end = causal ? std::min(n_kv, q_offset + i1) : n_kv, rows = i1 - i0;
  float* s = b->s.data();
  const bool bf16 = p.kt16 != nullptr, int8 = p.kt8 != nullptr;
  // Scores' row stride: n_kv, or for int8 the padded keys, whose zeros PV's blocks read.
  const int64_t lds = int8 ? Int8Keys(n_kv) : n_kv;
  const int64_t ldq16 = kernels::Bf16EvenK(head_dim), ldp16 = kernels::Bf16EvenK(n_kv);
  if (int8) {
    kernels::QuantizeRowsQ8(kQ8Isa, q + i0 * ldq, ldq, rows, head_dim, b->qa.data(), b->sa.data(), b->ca.data());
    kernels::GemmQ8Int(kQ8Isa, b->qa.data(), b->sa.data(), b->ca.data(), head_dim, p.kt8, n_kv, nullptr, s, lds, 0,
                       rows, 0, kv_end);
  } else if (bf16) {
    kernels::ConvertRowsBf16(kBf16Isa, q + i0 * ldq, ldq, rows, head_dim, b->q16.data(), ldq16);
    kernels::GemmBf16(kBf16Isa, b->q16.data(), ldq16, p.kt16, head_dim, head_dim, n_kv, nullptr, s, n_kv, 0, rows, 0,
                      kv_end, false);
  } else {
    kernels::GemmPacked(kIsa, q + i0 * ldq, ldq, p.kt, head_dim, head_dim, n_kv, nullptr, s, n_kv, 0, rows, 0, kv_end,
                        false);
  }
  float inv_sum[kQBlock];
  for (int64_t i = i0; i < i1; ++i) {
    const int64_t visible = causal ? std::min(n_kv, q_offset + i + 1) : n_kv;
    float* row = s + (i - i0) * lds;
    inv_sum[i - i0] = 1.0f / ScaledExpRow(row, visible, kv_end, scale);
    for (int64_t j = kv_end; j < lds && int8; ++j) row[j] = 0.0f;
    // bf16: the probabilities (exp(s - max) in (0, 1]) rounded while the row is in L1; an odd
    // kv_end gets a zero pad, which meets V's row kv_end (or its panel's zero row) in the last pair.
    if (bf16) kernels::ConvertRowsBf16(kBf16Isa, row, n_kv, 1, kv_end, b->p16.data() + (i - i0) * ldp16, ldp16);
  }
  // P (rows x kv_end) · V: the packed V's first kv_end rows are exactly the keys in view. int8
  // multiplies all padded keys (the panels' blocks span them; past kv_end the probabilities are 0).
  if (int8) {
    kernels::QuantizeRowsQ8(kQ8Isa, s, lds, rows, lds, b->qa.data(), b->sa.data(), b->ca.data());
    kernels::GemmQ8Int(kQ8Isa, b->qa.data(), b->sa.data(), b->ca.data(), lds, p.vp8, head_dim, nullptr,
                       out + i0 * ldo, ldo, 0, rows, 0, head_dim);
  } else if (bf16) {
    kernels::GemmBf16(kBf16Isa, b->p16.data(), ldp16, p.vp16, n_kv, kv_end, head_dim, nullptr, out + i0 * ldo, ldo, 0,
                      rows, 0, head_dim, false);
  } else {
    kernels::GemmPacked(kIsa, s, n_kv, p.vp, n_kv, kv_end, head_dim, nullptr, out + i0 * ldo, ldo, 0, rows, 0,
                        head_dim, false);
  }
  for (int64_t i = i0; i < i1; ++i) {
    float* o = out + i * ldo;
    for (int64_t c = 0; c < head_dim; ++c) o[c] *= inv_sum[i - i0];
  }
}

}  // namespace

void AttentionPacked(ThreadPool* pool, const float* q, int64_t ldq, int64_t n_q, const PreparedKv& kv, bool causal,
                     int64_t q_offset, float* out) {
  const int64_t n_kv = kv.n_kv, head_dim = kv.head_dim, width = kv.n_heads * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const bool bf16 = !kv.kt_bf16.empty();
  const size_t kt_size = bf16 ? kernels::PackedSizeBf16(head_dim, n_kv) : kernels::PackedSize(kIsa, head_dim, n_kv);
  const size_t v_size = bf16 ? kernels::PackedSizeBf16(n_kv, head_dim) : kernels::PackedSize(kIsa, n_kv, head_dim);
  const int64_t n_qb = (n_q + kQBlock - 1) / kQBlock;
  RunJobs(pool, kv.n_heads * n_qb, [&](int64_t w0, int64_t w1) {
    AttendScratch b(std::min(kQBlock, n_q), n_kv, head_dim, bf16, false);
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t h = w / n_qb, i0 = (w % n_qb) * kQBlock, i1 = std::min(n_q, i0 + kQBlock);
      HeadPanels p;
      if (bf16) {
        p.kt16 = kv.kt_bf16.data() + h * kt_size;
        p.vp16 = kv.v_bf16.data() + h * v_size;
      } else {
        p.kt = kv.kt_panels.data() + h * kt_size;
        p.vp = kv.v_panels.data() + h * v_size;
      }
      AttendBlock(q + h * head_dim, ldq, i0, i1, p, n_kv, head_dim, causal, q_offset, scale, &b, out + h * head_dim,
                  width);
    }
  });
}

void Attention(ThreadPool* pool, const float* q, int64_t ldq, int64_t n_q, const float* k, int64_t ldk,
               const float* v, int64_t ldv, int64_t n_kv, int n_heads, int64_t head_dim, bool causal,
               int64_t q_offset, float* out, AttentionProducts products) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t width = n_heads * head_dim;
  auto visible_for = [&](int64_t i) { return causal ? std::min(n_kv, q_offset + i + 1) : n_kv; };

  if (n_q <= 4) {
    RunJobs(pool, n_heads, [&](int64_t h0, int64_t h1) {
      std::vector<float> s(static_cast<size_t>(n_kv));
      for (int64_t h = h0; h < h1; ++h) {
        for (int64_t i = 0; i < n_q; ++i) {
          const int64_t visible = visible_for(i);
          kernels::GemmNT(kIsa, q + i * ldq + h * head_dim, ldq, k + h * head_dim, ldk, nullptr, s.data(), n_kv, 0,
                          1, 0, visible, head_dim);
          ScaledSoftmax(s.data(), visible, scale);
          kernels::WeightedRowSum(kIsa, s.data(), visible, v + h * head_dim, ldv, head_dim,
                                  out + i * width + h * head_dim);
        }
      }
    });
    return;
  }
  // K/V used by this call only: each thread packs the heads of its own jobs, right before
  // using them (the pool hands out contiguous job ranges, so with n_heads a multiple of the
  // threads no head is packed twice; otherwise a boundary head is packed by both threads).
  // Packing every head up front instead put 4.6 MB (tiny, 1500 keys) through fresh pages and
  // L3 at every call; one head's panels (768 KB; 384 KB in bf16) stay in L2 for its query blocks.
  const bool bf16 = products == AttentionProducts::kBf16 && kBf16Isa != kernels::Bf16Isa::kGeneric;
  // int8 needs whole 32-blocks of head_dim (Whisper's 64); otherwise, or without VNNI, f32.
  const bool int8 =
      products == AttentionProducts::kInt8 && kQ8Isa != kernels::Q8IntIsa::kGeneric && head_dim % 32 == 0;
  const size_t kt_size = bf16   ? kernels::PackedSizeBf16(head_dim, n_kv)
                         : int8 ? kernels::PackedSizeQ8Int(head_dim, n_kv)
                                : kernels::PackedSize(kIsa, head_dim, n_kv);
  const size_t v_size = bf16   ? kernels::PackedSizeBf16(n_kv, head_dim)
                        : int8 ? kernels::PackedSizeQ8Int(Int8Keys(n_kv), head_dim)
                               : kernels::PackedSize(kIsa, n_kv, head_dim);
  const int64_t n_qb = (n_q + kQBlock - 1) / kQBlock;
  RunJobs(pool, n_heads * n_qb, [&](int64_t w0, int64_t w1) {
    std::vector<float> panels(bf16 || int8 ? 0 : kt_size + v_size);
    std::vector<uint16_t> panels16(bf16 ? kt_size + v_size : 0);
    std::vector<uint8_t> panels8(int8 ? kt_size + v_size : 0);
    std::vector<float> vt, sa;  // int8 packing's scratch
    std::vector<int8_t> qa;
    HeadPanels p;
    if (int8) {
      p.kt8 = panels8.data();
      p.vp8 = panels8.data() + kt_size;
    } else if (bf16) {
      p.kt16 = panels16.data();
      p.vp16 = panels16.data() + kt_size;
    } else {
      p.kt = panels.data();
      p.vp = panels.data() + kt_size;
    }
    AttendScratch b(std::min(kQBlock, n_q), int8 ? Int8Keys(n_kv) : n_kv, head_dim, bf16, int8);
    int64_t packed_head = -1;
    for (int64_t w = w0; w < w1; ++w) {
      const int64_t h = w / n_qb, i0 = (w % n_qb) * kQBlock, i1 = std::min(n_q, i0 + kQBlock);
      if (h != packed_head) {
        if (int8) {
          PackHeadInt8(k + h * head_dim, ldk, v + h * head_dim, ldv, n_kv, head_dim, panels8.data(),
                       panels8.data() + kt_size, &vt, &qa, &sa);
        } else if (bf16) {
          kernels::PackTransposedBf16(kBf16Isa, k + h * head_dim, ldk, n_kv, head_dim, panels16.data());
          kernels::PackRowMajorBf16(kBf16Isa, v + h * head_dim, ldv, n_kv, head_dim, panels16.data() + kt_size);
        } else {
          kernels::PackTransposed(kIsa, k + h * head_dim, ldk, n_kv, head_dim, panels.data());
          kernels::PackRowMajor(kIsa, v + h * head_dim, ldv, n_kv, head_dim, panels.data() + kt_size);
        }
        packed_head = h;
      }
      AttendBlock(q + h * head_dim, ldq, i0, i1, p, n_kv, head_dim, causal, q_offset, scale, &b, out + h * head_dim,
                  width);
    }
  });
}

void AttentionSharedPrefix(ThreadPool* pool, const float* q, int64_t ldq, int64_t n_rows, const float* prefix_k,
                           const float* prefix_v, int64_t n_prefix, const float* const* row_k,
                           const float* const* row_v, int64_t n_suffix, int64_t ld, int n_heads, int64_t head_dim,
                           float* out, int64_t ldo) {
  // Attention's few-query path (dot products, softmax, weighted row sum) per row, with the keys
  // in two places. Each score is one dot product, computed alike whatever the GEMM tile, so the
  // prefix scores of all rows come from one call; WeightedRowSum2 continues the prefix's sums
  // over the suffix in the unsplit order. Heads outside, rows inside: a head's prefix (~50 KB
  // for 200 tokens of tiny) stays in L1/L2 while every row reads it.
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t n_kv = n_prefix + n_suffix;
  RunJobs(pool, n_heads, [&](int64_t h0, int64_t h1) {
    std::vector<float> s(static_cast<size_t>(n_rows * n_kv));
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t col = h * head_dim;
      kernels::GemmNT(kIsa, q + col, ldq, prefix_k + col, ld, nullptr, s.data(), n_kv, 0, n_rows, 0, n_prefix,
                      head_dim);
      for (int64_t i = 0; i < n_rows; ++i) {
        float* row = s.data() + i * n_kv;
        kernels::GemmNT(kIsa, q + i * ldq + col, ldq, row_k[i] + col, ld, nullptr, row + n_prefix, n_kv, 0, 1, 0,
                        n_suffix, head_dim);
        ScaledSoftmax(row, n_kv, scale);
        kernels::WeightedRowSum2(kIsa, row, n_prefix, prefix_v + col, ld, n_suffix, row_v[i] + col, ld, head_dim,
                                 out + i * ldo + col);
      }
    }
  });
}

}  // namespace wisp::fast

#include "kernels/gemm_q8_int.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include "kernels/gemm_packed.h"

namespace wisp::kernels {

#if defined(__x86_64__)
void QuantizeRowsQ8Avx512(const float* A, int64_t lda, int64_t M, int64_t K, int8_t* qa, float* sa, int32_t* ca);
void GemmQ8IntAvx512Vnni(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                         int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0,
                         int64_t n1, bool with_mins);
#endif
#if defined(__aarch64__)
void GemmQ8IntNeonDot(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                      const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      bool with_mins);
void GemmQ8IntNeonI8mm(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                       const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                       bool with_mins);
extern std::atomic<int64_t> g_q8_int_neon_dot_calls, g_q8_int_neon_i8mm_calls;
#endif

namespace {

constexpr int kNR = kQ8IntPanelWidth;

#if defined(__x86_64__)
// AVX-512 VNNI (vpdpbusd) and BW (the byte moves of quantization) by CPUID leaf 7: ECX bit 11,
// EBX bit 30. __builtin_cpu_supports("avx512f") also checks the OS saves the zmm state.
bool HasAvx512Vnni() {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) return false;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return false;
  return ((ecx >> 11) & 1u) != 0 && ((ebx >> 30) & 1u) != 0;
}
#endif

#if defined(__aarch64__)
// The kernel files' features, as the kernel reports them to user space (HWCAP_ASIMDDP: sdot;
// HWCAP2_I8MM: usmmla). qemu-user reports its -cpu model's features the same way.
bool HasArmDotProd() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
bool HasArmI8mm() { return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }

// The generic quantizer in NEON, bit-equal: the same product a * (127 / amax), and fcvtns
// rounds to nearest even as nearbyint does under the default rounding mode.
void QuantizeRowsNeon(const float* A, int64_t lda, int64_t M, int64_t K, int8_t* qa, float* sa, int32_t* ca) {
  const int64_t nb = K / 32;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* a = A + m * lda + b * 32;
      float32x4_t x[8];
      float32x4_t mx = vdupq_n_f32(0.0f);
      for (int v = 0; v < 8; ++v) {
        x[v] = vld1q_f32(a + 4 * v);
        mx = vmaxq_f32(mx, vabsq_f32(x[v]));
      }
      const float amax = vmaxvq_f32(mx);
      const float32x4_t inv = vdupq_n_f32(amax > 0.0f ? 127.0f / amax : 0.0f);
      int32x4_t q[8];
      int32x4_t sum = vdupq_n_s32(0);
      for (int v = 0; v < 8; ++v) {
        q[v] = vcvtnq_s32_f32(vmulq_f32(x[v], inv));
        sum = vaddq_s32(sum, q[v]);
      }
      int8_t* out = qa + m * K + b * 32;
      for (int h = 0; h < 2; ++h) {
        const int16x8_t lo = vcombine_s16(vmovn_s32(q[4 * h]), vmovn_s32(q[4 * h + 1]));
        const int16x8_t hi = vcombine_s16(vmovn_s32(q[4 * h + 2]), vmovn_s32(q[4 * h + 3]));
        vst1q_s8(out + 16 * h, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
      }
      sa[m * nb + b] = amax / 127.0f;
      ca[m * nb + b] = -128 * vaddvq_s32(sum);
    }
  }
}

#endif

void QuantizeRowsGeneric(const float* A, int64_t lda, int64_t M, int64_t K, int8_t* qa, float* sa, int32_t* ca) {
  const int64_t nb = K / 32;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t b = 0; b < nb; ++b) {
      const float* a = A + m * lda + b * 32;
      float amax = 0.0f;
      for (int k = 0; k < 32; ++k) amax = std::max(amax, std::fabs(a[k]));
      const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      int32_t sum = 0;
      for (int k = 0; k < 32; ++k) {
        // nearbyint under the default rounding mode: to nearest even, as vcvtps2dq rounds.
        const int q = static_cast<int>(std::nearbyint(a[k] * inv));
        qa[m * K + b * 32 + k] = static_cast<int8_t>(q);
        sum += q;
      }
      sa[m * nb + b] = amax / 127.0f;
      ca[m * nb + b] = -128 * sum;
    }
  }
}

void GemmQ8IntGeneric(const int8_t* qa, const float* sa, const int32_t* ca, int64_t K, const uint8_t* packed,
                      const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      bool with_mins) {
  const int64_t nb = K / 32, head = Q8IntHeadBytes(with_mins), block_bytes = Q8IntBlockBytes(with_mins);
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* panel = packed + (n / kNR) * nb * block_bytes;
    const int64_t j = n % kNR;
    for (int64_t m = m0; m < m1; ++m) {
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = panel + b * block_bytes;
        float sw;
        std::memcpy(&sw, blk + j * 4, 4);
        int32_t isum = ca[m * nb + b];
        for (int g = 0; g < 8; ++g) {
          for (int t = 0; t < 4; ++t) {
            isum += int32_t{blk[head + g * kNR * 4 + j * 4 + t]} * qa[m * K + b * 32 + g * 4 + t];
          }
        }
        const float s = sa[m * nb + b];
        acc = std::fma(static_cast<float>(isum), sw * s, acc);
        if (with_mins) {
          float mw;
          std::memcpy(&mw, blk + kQ8IntScaleBytes + j * 4, 4);
          acc = std::fma(mw, s * static_cast<float>(-ca[m * nb + b] / 128), acc);
        }
      }
      C[m * ldc + n] = acc + (bias != nullptr ? bias[n] : 0.0f);
    }
  }
}

// Writes one block of a panel: scales, mins (if any), integers as q + 128.
void WritePanelBlock(uint8_t* out, int64_t j, float scale, const float* min, const int8_t* q) {
  std::memcpy(out + j * 4, &scale, 4);
  if (min != nullptr) std::memcpy(out + kQ8IntScaleBytes + j * 4, min, 4);
  const int64_t head = Q8IntHeadBytes(min != nullptr);
  for (int k = 0; k < 32; ++k) out[head + (k / 4) * kNR * 4 + j * 4 + k % 4] = static_cast<uint8_t>(q[k] + 128);
}

}  // namespace

Q8IntIsa DetectQ8IntIsa() {
#if defined(__x86_64__)
  if (HasAvx512Vnni()) return Q8IntIsa::kAvx512Vnni;
#endif
#if defined(__aarch64__)
  if (HasArmI8mm()) return Q8IntIsa::kNeonI8mm;
  if (HasArmDotProd()) return Q8IntIsa::kNeonDot;
#endif
  return Q8IntIsa::kGeneric;
}

const char* Q8IntIsaName(Q8IntIsa isa) {
  switch (isa) {
    case Q8IntIsa::kAvx512Vnni: return "avx512vnni";
    case Q8IntIsa::kNeonDot: return "neon-sdot";
    case Q8IntIsa::kNeonI8mm: return "neon-i8mm";
    case Q8IntIsa::kGeneric: break;
  }
  return "generic";
}

int SupportedQ8IntIsas(Q8IntIsa* out, int max) {
  int n = 0;
  if (n < max) out[n++] = Q8IntIsa::kGeneric;
  if (DetectQ8IntIsa() == Q8IntIsa::kAvx512Vnni && n < max) out[n++] = Q8IntIsa::kAvx512Vnni;
#if defined(__aarch64__)
  if (HasArmDotProd() && n < max) out[n++] = Q8IntIsa::kNeonDot;
  if (HasArmI8mm() && n < max) out[n++] = Q8IntIsa::kNeonI8mm;
#endif
  return n;
}

int64_t Q8IntKernelCalls(Q8IntIsa isa) {
#if defined(__aarch64__)
  if (isa == Q8IntIsa::kNeonDot) return g_q8_int_neon_dot_calls.load(std::memory_order_relaxed);
  if (isa == Q8IntIsa::kNeonI8mm) return g_q8_int_neon_i8mm_calls.load(std::memory_order_relaxed);
#endif
  (void)isa;
  return 0;
}

size_t PackedSizeQ8Int(int64_t K, int64_t N, bool with_mins) {
  return static_cast<size_t>((N + kNR - 1) / kNR * (K / 32) * Q8IntBlockBytes(with_mins));
}

namespace {
// Every panel block of an (N x K) weight from read(n, b, &scale, &min, q) (columns past N: zero).
template <typename ReadBlock>
void PackPanels(int64_t N, int64_t K, bool with_mins, uint8_t* packed, ReadBlock read) {
  const int64_t nb = K / 32;
  for (int64_t p = 0; p * kNR < N; ++p) {
    for (int64_t b = 0; b < nb; ++b) {
      for (int64_t j = 0; j < kNR; ++j) {
        float scale = 0.0f, min = 0.0f;
        int8_t q[32] = {};
        if (p * kNR + j < N) read(p * kNR + j, b, &scale, &min, q);
        WritePanelBlock(packed + (p * nb + b) * Q8IntBlockBytes(with_mins), j, scale, with_mins ? &min : nullptr, q);
      }
    }
  }
}
}  // namespace

void PackQ8_0Int(const uint8_t* blocks, int64_t N, int64_t K, uint8_t* packed) {
  PackPanels(N, K, false, packed, [&](int64_t n, int64_t b, float* scale, float*, int8_t* q) {
    const uint8_t* src = blocks + (n * (K / 32) + b) * 34;
    uint16_t d;
    std::memcpy(&d, src, 2);
    *scale = HalfToFloat(d);
    std::memcpy(q, src + 2, 32);
  });
}

void PackQ8MinInt(const uint8_t* blocks, int64_t N, int64_t K, uint8_t* packed) {
  PackPanels(N, K, true, packed, [&](int64_t n, int64_t b, float* scale, float* min, int8_t* q) {
    const uint8_t* src = blocks + (n * (K / 32) + b) * kQ8MinBlockBytes;
    std::memcpy(scale, src, 4);
    std::memcpy(min, src + 4, 4);
    std::memcpy(q, src + 8, 32);
  });
}

void PackRowsQ8Int(Q8IntIsa isa, const float* W, int64_t ldw, int64_t N, int64_t K, uint8_t* packed, int8_t* qa,
                   float* sa) {
  const int64_t nb = K / 32;
  // The block sums (ca) are the activations' offset correction; weights' panels need none.
  std::vector<int32_t> ca(static_cast<size_t>(N * nb));
  QuantizeRowsQ8(isa, W, ldw, N, K, qa, sa, ca.data());
  // The panel layout of PackPanels, written 4 k at a time: this runs per attention head and call,
  // where PackPanels' byte loop cost half as much as the products. Adding 128 to each byte of a
  // group of 4 is xor 0x80 per byte; columns past N hold q = 0 (bytes 0x80) and scale 0.
  for (int64_t p = 0; p * kNR < N; ++p) {
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* blk = packed + (p * nb + b) * Q8IntBlockBytes(false);
      for (int64_t j = 0; j < kNR; ++j) {
        const int64_t n = p * kNR + j;
        const float scale = n < N ? sa[n * nb + b] : 0.0f;
        std::memcpy(blk + j * 4, &scale, 4);
        for (int g = 0; g < 8; ++g) {
          uint32_t quad = 0;
          if (n < N) std::memcpy(&quad, qa + n * K + b * 32 + g * 4, 4);
          quad ^= 0x80808080u;
          std::memcpy(blk + kQ8IntScaleBytes + g * kNR * 4 + j * 4, &quad, 4);
        }
      }
    }
  }
}

void UnpackColumnQ8Int(const uint8_t* packed, int64_t K, int64_t n, float* out, bool with_mins) {
  const int64_t nb = K / 32, j = n % kNR, head = Q8IntHeadBytes(with_mins), block_bytes = Q8IntBlockBytes(with_mins);
  const uint8_t* panel = packed + (n / kNR) * nb * block_bytes;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * block_bytes;
    float scale, min = 0.0f;
    std::memcpy(&scale, blk + j * 4, 4);
    if (with_mins) std::memcpy(&min, blk + kQ8IntScaleBytes + j * 4, 4);
    for (int k = 0; k < 32; ++k) {
      const int q = int{blk[head + (k / 4) * kNR * 4 + j * 4 + k % 4]} - 128;
      // As ggml dequantizes: q * d for q8_0, q * d + m for q4_1 / q5_1 (one explicit fma, so the
      // compiler's contraction choices cannot make two builds round differently).
      out[b * 32 + k] = with_mins ? std::fma(static_cast<float>(q), scale, min) : static_cast<float>(q) * scale;
    }
  }
}

void QuantizeRowsQ8(Q8IntIsa isa, const float* A, int64_t lda, int64_t M, int64_t K, int8_t* qa, float* sa,
                    int32_t* ca) {
#if defined(__x86_64__)
  if (isa == Q8IntIsa::kAvx512Vnni) return QuantizeRowsQ8Avx512(A, lda, M, K, qa, sa, ca);
#endif
#if defined(__aarch64__)
  if (isa != Q8IntIsa::kGeneric) return QuantizeRowsNeon(A, lda, M, K, qa, sa, ca);
#endif
  (void)isa;
  QuantizeRowsGeneric(A, lda, M, K, qa, sa, ca);
}

void GemmQ8Int(Q8IntIsa isa, const int8_t* qa, const float* sa, const int32_t* ca, int64_t K,
               const uint8_t* packed, int64_t N, const float* bias, float* C, int64_t ldc, int64_t m0, int64_t m1,
               int64_t n0, int64_t n1, bool with_mins) {
#if defined(__x86_64__)
  if (isa == Q8IntIsa::kAvx512Vnni) {
    return GemmQ8IntAvx512Vnni(qa, sa, ca, K, packed, N, bias, C, ldc, m0, m1, n0, n1, with_mins);
  }
#endif
#if defined(__aarch64__)
  // One row (a decoding step) wastes half of every usmmla on a pair that repeats the row: sdot
  // takes fewer instructions there (docs/PERFORMANCE.md), with the same bits.
  static const bool dotprod = HasArmDotProd();
  if (isa == Q8IntIsa::kNeonI8mm && m1 - m0 == 1 && dotprod) isa = Q8IntIsa::kNeonDot;
  if (isa == Q8IntIsa::kNeonDot) return GemmQ8IntNeonDot(qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1, with_mins);
  if (isa == Q8IntIsa::kNeonI8mm) {
    return GemmQ8IntNeonI8mm(qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1, with_mins);
  }
#endif
  (void)isa;
  (void)N;
  GemmQ8IntGeneric(qa, sa, ca, K, packed, bias, C, ldc, m0, m1, n0, n1, with_mins);
}

}  // namespace wisp::kernels

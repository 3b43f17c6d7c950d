// One GEMM on one Arm kernel, for counting its instructions under qemu (scripts/arm-insn-count.sh):
//   gemm_insns KERNEL M K N RUN
// sets up A and the packed weights of an (M x K) · (K x N) product, then, if RUN is 1, runs the
// GEMM once. The script counts both runs (the setup is deterministic) and takes the difference:
// the instructions of the GEMM call alone, activation rounding / quantization not included.
// Kernels: f32 (the generic packed f32 GEMM: what compute f32 and a bf16 fallback run on Arm),
// q8-widen (the generic q8_0 widening GEMM: compute int8's fallback), sdot, i8mm, bfdot, bfmmla.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_packed.h"
#include "kernels/gemm_q8.h"
#include "kernels/gemm_q8_int.h"

namespace k = wisp::kernels;

namespace {

// N rows of K/32 q8_0 blocks: an f16 scale and 32 random int8.
std::vector<uint8_t> RandomQ8Blocks(int64_t N, int64_t K, std::mt19937* rng) {
  std::vector<uint8_t> blocks(static_cast<size_t>(N * (K / 32) * 34));
  std::uniform_int_distribution<int> q(-127, 127);
  for (size_t i = 0; i < blocks.size(); i += 34) {
    const uint16_t d = k::FloatToHalf(0.01f);
    std::memcpy(&blocks[i], &d, 2);
    for (int j = 0; j < 32; ++j) blocks[i + 2 + j] = static_cast<uint8_t>(q(*rng));
  }
  return blocks;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s f32|q8-widen|sdot|i8mm|bfdot|bfmmla M K N RUN\n", argv[0]);
    return 2;
  }
  const std::string kernel = argv[1];
  const int64_t M = std::atoll(argv[2]), K = std::atoll(argv[3]), N = std::atoll(argv[4]);
  const bool run = std::atoi(argv[5]) != 0;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> A(static_cast<size_t>(M * K)), C(static_cast<size_t>(M * N)), bias(static_cast<size_t>(N));
  for (auto& v : A) v = dist(rng);
  for (auto& v : bias) v = dist(rng);
  if (kernel == "f32") {
    std::vector<float> W(static_cast<size_t>(N * K));
    for (auto& v : W) v = dist(rng);
    std::vector<float> packed(k::PackedSize(k::Isa::kGeneric, K, N));
    k::PackTransposed(k::Isa::kGeneric, W.data(), K, N, K, packed.data());
    if (run) k::GemmPacked(k::Isa::kGeneric, A.data(), K, packed.data(), K, K, N, bias.data(), C.data(), N, 0, M, 0, N, false);
  } else if (kernel == "q8-widen") {
    const std::vector<uint8_t> blocks = RandomQ8Blocks(N, K, &rng);
    std::vector<uint8_t> packed(k::PackedSizeQ8(k::Isa::kGeneric, K, N));
    k::PackQ8_0(k::Isa::kGeneric, blocks.data(), N, K, packed.data());
    if (run) k::GemmPackedQ8(k::Isa::kGeneric, A.data(), K, packed.data(), K, N, bias.data(), C.data(), N, 0, M, 0, N);
  } else if (kernel == "sdot" || kernel == "i8mm") {
    const k::Q8IntIsa isa = kernel == "sdot" ? k::Q8IntIsa::kNeonDot : k::Q8IntIsa::kNeonI8mm;
    const std::vector<uint8_t> blocks = RandomQ8Blocks(N, K, &rng);
    std::vector<uint8_t> packed(k::PackedSizeQ8Int(K, N));
    k::PackQ8_0Int(blocks.data(), N, K, packed.data());
    std::vector<int8_t> qa(static_cast<size_t>(M * K));
    std::vector<float> sa(static_cast<size_t>(M * (K / 32)));
    std::vector<int32_t> ca(sa.size());
    k::QuantizeRowsQ8(isa, A.data(), K, M, K, qa.data(), sa.data(), ca.data());
    if (run) k::GemmQ8Int(isa, qa.data(), sa.data(), ca.data(), K, packed.data(), N, bias.data(), C.data(), N, 0, M, 0, N);
  } else if (kernel == "bfdot" || kernel == "bfmmla") {
    const k::Bf16Isa isa = kernel == "bfdot" ? k::Bf16Isa::kNeonBfdot : k::Bf16Isa::kNeonBfmmla;
    std::vector<float> W(static_cast<size_t>(N * K));
    for (auto& v : W) v = dist(rng);
    std::vector<uint16_t> packed(k::PackedSizeBf16(K, N)), a16(static_cast<size_t>(M * k::Bf16EvenK(K)));
    k::PackTransposedBf16(isa, W.data(), K, N, K, packed.data());
    k::ConvertRowsBf16(isa, A.data(), K, M, K, a16.data(), k::Bf16EvenK(K));
    if (run) {
      k::GemmBf16(isa, a16.data(), k::Bf16EvenK(K), packed.data(), K, K, N, bias.data(), C.data(), N, 0, M, 0, N, false);
    }
  } else {
    std::fprintf(stderr, "unknown kernel %s\n", kernel.c_str());
    return 2;
  }
  // Keeps the product alive (and the compiler from dropping it).
  double sum = 0;
  for (float v : C) sum += v;
  std::printf("%g\n", sum);
  return 0;
}

// Packs every matrix-product weight of a model once, at load, into the fast backend's panel
// layout (Tensor::packed): Linear layers, the two conv kernels and the token embedding (whose
// transpose is the vocabulary projection, the product the ExecuTorch export left undelegated).
#pragma once
#include "model/weights.h"

namespace wisp {

void PackWeightsForFastBackend(ModelWeights* weights);

}  // namespace wisp

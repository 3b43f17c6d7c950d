// Packs every matrix-product weight of a model once, at load, into the fast backend's panel
// layout (Tensor::packed*): Linear layers, the two conv kernels and the token embedding (whose
// transpose is the vocabulary projection, the product the ExecuTorch export left undelegated).
#pragma once
#include <functional>

#include "model/weights.h"

namespace wisp {

// Calls fn for every matrix tensor of the model (the ones PackMatrix packs).
void ForEachMatrix(ModelWeights* weights, const std::function<void(Tensor*)>& fn);

// Packs one matrix (rows = shape[0], cols = the rest) from its f32 `data`, or from its q8_0
// blocks, into storage owned by `weights`. Already packed: nothing to do.
void PackMatrix(Tensor* t, ModelWeights* weights);

// PackMatrix on every matrix.
void PackWeightsForFastBackend(ModelWeights* weights);

}  // namespace wisp

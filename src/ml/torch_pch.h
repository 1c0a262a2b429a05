// Precompiled header of the ml module's LibTorch units (see src/CMakeLists.txt); never include it.
#include <ATen/Parallel.h>
#include <torch/script.h>
#include <torch/torch.h>

#pragma once
// Data preparation for training (internal): a dataset version read into memory, the target and
// features chosen, a seeded train/validation split, the preprocessing fitted on the training split only
// (imputation, standardisation, one-hot vocabularies) and both splits encoded as ml matrices.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ml/ml.h"
#include "ml/train.h"
#include "storage/storage.h"
#include "training/training.h"

namespace c19ai::training::internal {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt: missing
};

// Reads CSV (with a header) or JSON Lines; invalid_argument naming the line for malformed input.
Result<Table> ReadTable(storage::ByteSource& source, const std::string& format, char delimiter, bool header);

struct Prepared {
  std::vector<ml::FeatureSpec> features;
  std::vector<std::string> labels;  // classification
  ml::Split train, validation;
  double target_mean = 0, target_scale = 1;  // regression
  int64_t dropped = 0;                       // rows without a target
};

// invalid_argument naming the field (target, features) when the table does not fit the spec.
Result<Prepared> Prepare(const JobSpec& spec, const Table& table);

}  // namespace c19ai::training::internal

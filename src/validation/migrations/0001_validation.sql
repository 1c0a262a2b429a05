-- Dataset versions: immutable once written. The bytes live in storage under datasets/sha256/<hash>;
-- several versions may share them. (name_key, version) is unique: concurrent uploads of one name
-- retry with the next number.
CREATE TABLE validation_datasets (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL,  -- lower(name)
  version BIGINT NOT NULL,
  format TEXT NOT NULL,    -- csv | jsonl
  delimiter TEXT NOT NULL DEFAULT ',',
  has_header INTEGER NOT NULL DEFAULT 1,
  row_count BIGINT NOT NULL,
  column_list TEXT NOT NULL,  -- JSON [{name, type}]
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  storage_key TEXT NOT NULL,
  source TEXT NOT NULL,       -- upload | clean
  parent_id TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  UNIQUE (name_key, version)
);
CREATE INDEX validation_datasets_key ON validation_datasets(storage_key);

-- The profile of a version, computed once (versions never change).
CREATE TABLE validation_profiles (
  dataset_id TEXT PRIMARY KEY REFERENCES validation_datasets(id) ON DELETE CASCADE,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE validation_schemas (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL,
  version BIGINT NOT NULL,
  body TEXT NOT NULL,  -- the schema as JSON
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  UNIQUE (name_key, version)
);

-- Validation runs, inline or queued, with their reports.
CREATE TABLE validation_runs (
  id TEXT PRIMARY KEY,
  dataset_id TEXT NOT NULL,
  status TEXT NOT NULL,  -- queued | running | succeeded | failed
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  schema_name TEXT NOT NULL DEFAULT '',
  schema_version BIGINT NOT NULL DEFAULT 0,
  schema_body TEXT NOT NULL,
  with_profile INTEGER NOT NULL DEFAULT 0,
  report TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX validation_runs_dataset ON validation_runs(dataset_id, created_at);

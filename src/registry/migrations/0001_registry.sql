-- Registered models. next_version is the number the next upload gets: allocating it with
-- UPDATE ... RETURNING in the transaction that inserts the version keeps numbers distinct and gap-free
-- under concurrent uploads (the row lock serialises them).
CREATE TABLE registry_models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,  -- lower(name): names are unique case-insensitively
  description TEXT NOT NULL DEFAULT '',
  model_type TEXT NOT NULL,
  framework TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '{}',
  owner_id TEXT NOT NULL DEFAULT '',
  owner_name TEXT NOT NULL DEFAULT '',
  next_version BIGINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX registry_models_created ON registry_models(created_at);
CREATE INDEX registry_models_updated ON registry_models(updated_at);

CREATE TABLE registry_model_tags (
  model_id TEXT NOT NULL REFERENCES registry_models(id) ON DELETE CASCADE,
  tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (model_id, tag_key)
);
CREATE INDEX registry_model_tags_kv ON registry_model_tags(tag_key, tag_value);

-- Versions are immutable except for their stage, verification and retention marks.
CREATE TABLE registry_versions (
  model_id TEXT NOT NULL REFERENCES registry_models(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  framework TEXT NOT NULL,
  stage TEXT NOT NULL DEFAULT 'none',
  signature TEXT NOT NULL,
  metrics TEXT NOT NULL DEFAULT '{}',
  params TEXT NOT NULL DEFAULT '{}',
  lineage TEXT NOT NULL DEFAULT '{}',
  description TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '{}',
  source_type TEXT NOT NULL,
  source_id TEXT NOT NULL DEFAULT '',
  storage_key TEXT NOT NULL,  -- in the models namespace: sha256/<hash>
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  artifact_removed_at BIGINT,
  created_by TEXT NOT NULL DEFAULT '',
  created_by_name TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  stage_changed_at BIGINT NOT NULL,
  verified_at BIGINT,
  verified_ok INTEGER,
  PRIMARY KEY (model_id, version)
);
CREATE INDEX registry_versions_stage ON registry_versions(stage, stage_changed_at);
CREATE INDEX registry_versions_key ON registry_versions(storage_key);

CREATE TABLE registry_aliases (
  model_id TEXT NOT NULL REFERENCES registry_models(id) ON DELETE CASCADE,
  alias TEXT NOT NULL,
  version BIGINT NOT NULL,
  updated_by TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (model_id, alias)
);

-- Who moved which version from where to where, when and why. seq orders a model's transitions (several
-- may share a millisecond); it is assigned under the model's row lock.
CREATE TABLE registry_transitions (
  id TEXT PRIMARY KEY,
  model_id TEXT NOT NULL REFERENCES registry_models(id) ON DELETE CASCADE,
  seq BIGINT NOT NULL,
  version BIGINT NOT NULL,
  from_stage TEXT NOT NULL,
  to_stage TEXT NOT NULL,
  actor_id TEXT NOT NULL DEFAULT '',
  actor_name TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  at BIGINT NOT NULL
);
CREATE UNIQUE INDEX registry_transitions_model ON registry_transitions(model_id, seq);

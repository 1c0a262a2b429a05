-- Training jobs with their specification (canonical JSON), progress and outcome; per-epoch metrics,
-- checkpoints (the blobs live under checkpoints/training/<job>/) and log lines.
CREATE TABLE training_jobs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  experiment TEXT NOT NULL,
  status TEXT NOT NULL,
  spec TEXT NOT NULL,
  dataset_id TEXT NOT NULL,
  dataset_sha256 TEXT NOT NULL DEFAULT '',
  epoch BIGINT NOT NULL DEFAULT 0,
  epochs BIGINT NOT NULL DEFAULT 0,
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  metric TEXT NOT NULL DEFAULT '',
  best_metric DOUBLE PRECISION,
  best_epoch BIGINT NOT NULL DEFAULT 0,
  best_metrics TEXT NOT NULL DEFAULT '{}',
  model_name TEXT NOT NULL DEFAULT '',
  model_version BIGINT,
  error TEXT NOT NULL DEFAULT '',
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  attempts BIGINT NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL DEFAULT '',
  created_by_id TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX training_jobs_by_experiment ON training_jobs (experiment, created_at);
CREATE INDEX training_jobs_by_status ON training_jobs (status, created_at);

CREATE TABLE training_metrics (
  job_id TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  train_loss DOUBLE PRECISION NOT NULL,
  val_loss DOUBLE PRECISION NOT NULL,
  lr DOUBLE PRECISION NOT NULL,
  samples_per_s DOUBLE PRECISION NOT NULL,
  metrics TEXT NOT NULL,
  ts BIGINT NOT NULL,
  PRIMARY KEY (job_id, epoch)
);

CREATE TABLE training_checkpoints (
  job_id TEXT NOT NULL,
  epoch BIGINT NOT NULL,
  object_key TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (job_id, epoch)
);

CREATE TABLE training_logs (
  job_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  level TEXT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (job_id, seq)
);

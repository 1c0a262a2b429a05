-- Experiments: the name a job names, plus what a user set on it (archived, description).
CREATE TABLE training_experiments (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  archived INTEGER NOT NULL DEFAULT 0,
  archived_at BIGINT,
  created_at BIGINT NOT NULL
);

-- Hyper-parameter sweeps and their trials (each trial becomes a training job when it is launched).
CREATE TABLE training_sweeps (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  experiment TEXT NOT NULL,
  status TEXT NOT NULL,
  spec TEXT NOT NULL,
  objective_metric TEXT NOT NULL,
  direction TEXT NOT NULL,
  best_job_id TEXT,
  best_value DOUBLE PRECISION,
  model_name TEXT NOT NULL DEFAULT '',
  model_version BIGINT,
  error TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL DEFAULT '',
  created_by_id TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX training_sweeps_by_created ON training_sweeps (created_at);

CREATE TABLE training_sweep_trials (
  sweep_id TEXT NOT NULL,
  trial BIGINT NOT NULL,
  params TEXT NOT NULL,
  status TEXT NOT NULL,
  job_id TEXT,
  value DOUBLE PRECISION,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (sweep_id, trial)
);
CREATE INDEX training_sweep_trials_by_job ON training_sweep_trials (job_id);

-- Every finished job keeps its best model (registered or not), so it can be registered later.
ALTER TABLE training_jobs ADD COLUMN model_object TEXT NOT NULL DEFAULT '';

-- Batch prediction jobs: rows of a stored object run through a model, results under
-- results/batch-predictions/<id>.jsonl. `options` holds the request's reading options as JSON.
CREATE TABLE inference_batch_jobs (
  id TEXT PRIMARY KEY,
  model_name TEXT NOT NULL,
  selector TEXT NOT NULL DEFAULT '',
  version BIGINT,
  input_ns TEXT NOT NULL,
  input_key TEXT NOT NULL,
  format TEXT NOT NULL,
  options TEXT NOT NULL,
  status TEXT NOT NULL,
  rows_done BIGINT NOT NULL DEFAULT 0,
  rows_failed BIGINT NOT NULL DEFAULT 0,
  bytes_done BIGINT NOT NULL DEFAULT 0,
  bytes_total BIGINT NOT NULL DEFAULT 0,
  output_key TEXT NOT NULL,
  output_size BIGINT NOT NULL DEFAULT 0,
  output_sha256 TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX inference_batch_jobs_by_model ON inference_batch_jobs (model_name, created_at);

-- Explicit deployments: how a model is served (selector and batching, instances, warm-up and result
-- cache options as JSON). Models without a row are served on demand with the defaults.
CREATE TABLE inference_deployments (
  model_key TEXT PRIMARY KEY,  -- lower-case model name
  model_name TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL
);

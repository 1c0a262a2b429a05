-- Training loss every N optimizer steps (log_every_steps), besides the per-epoch metrics.
CREATE TABLE training_steps (
  job_id TEXT NOT NULL,
  step BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  loss DOUBLE PRECISION NOT NULL,
  lr DOUBLE PRECISION NOT NULL,
  ts BIGINT NOT NULL,
  PRIMARY KEY (job_id, step)
);

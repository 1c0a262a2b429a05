-- Live messages. available_at is when a ready message may be delivered, or, while it is leased, when
-- the lease expires: one index then finds both fresh messages and expired leases.
CREATE TABLE queue_messages (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  priority INTEGER NOT NULL,
  available_at BIGINT NOT NULL,
  enqueued_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL,
  lease TEXT,
  consumer TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  headers TEXT NOT NULL DEFAULT '{}',
  has_headers INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_messages_pick ON queue_messages(topic, priority, available_at);

-- Header values of messages that have headers, for consumer-side filtering.
CREATE TABLE queue_headers (
  message_id TEXT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (message_id, name)
);
CREATE INDEX queue_headers_value ON queue_headers(name, value);

CREATE TABLE queue_dead (
  id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  priority INTEGER NOT NULL,
  enqueued_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  body TEXT NOT NULL,
  headers TEXT NOT NULL,
  last_error TEXT NOT NULL,
  died_at BIGINT NOT NULL
);
CREATE INDEX queue_dead_topic ON queue_dead(topic, died_at);

CREATE TABLE queue_idempotency (
  topic TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  message_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (topic, idem_key)
);

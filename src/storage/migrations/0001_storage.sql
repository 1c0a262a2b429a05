-- Object metadata. An object's bytes live in a blob with a unique physical key (blob_key) on one or
-- more backends (storage_locations); replacing an object writes a new blob and switches the row, so a
-- reader never sees a half-written object.
CREATE TABLE storage_objects (
  ns TEXT NOT NULL,
  object_key TEXT NOT NULL,
  top TEXT NOT NULL,              -- first segment of object_key, for statistics
  blob_key TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  backend TEXT NOT NULL,
  created_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  metadata TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (ns, object_key)
);
CREATE INDEX storage_objects_expires ON storage_objects(expires_at);
CREATE INDEX storage_objects_sha ON storage_objects(ns, sha256);
CREATE INDEX storage_objects_blob ON storage_objects(blob_key);

CREATE TABLE storage_locations (
  blob_key TEXT NOT NULL,
  backend TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (blob_key, backend)
);

CREATE TABLE storage_replications (
  id TEXT PRIMARY KEY,
  from_backend TEXT NOT NULL,
  to_backend TEXT NOT NULL,
  prefix TEXT NOT NULL,
  status TEXT NOT NULL,
  cursor_ns TEXT NOT NULL DEFAULT '',
  cursor_key TEXT NOT NULL DEFAULT '',
  copied BIGINT NOT NULL DEFAULT 0,
  skipped BIGINT NOT NULL DEFAULT 0,
  bytes BIGINT NOT NULL DEFAULT 0,
  failed BIGINT NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

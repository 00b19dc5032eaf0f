-- The collector's searchable store (infn.cloud.logging). One row per message; msg_id is the
-- id the sending host gave the message, so a message delivered twice is stored once.
CREATE TABLE logs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  msg_id uuid NOT NULL UNIQUE,
  received_at timestamptz NOT NULL DEFAULT now(),
  reported_at timestamptz NOT NULL,
  host text NOT NULL,
  from_ip inet,
  program text NOT NULL,
  facility smallint NOT NULL,
  severity smallint NOT NULL,
  message text NOT NULL,
  -- 'simple': log words are names and codes, not English to be stemmed.
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', host || ' ' || program || ' ' || message)) STORED
);
CREATE INDEX logs_search_idx ON logs USING gin (search);
CREATE INDEX logs_host_time_idx ON logs (host, reported_at);
CREATE INDEX logs_program_time_idx ON logs (program, reported_at);
CREATE INDEX logs_reported_idx ON logs (reported_at);
CREATE INDEX logs_received_idx ON logs (received_at);

/**
 * The SQLite schema as an ordered list of migrations. `PRAGMA user_version` records how many have
 * been applied, so a later O3 appends a migration here and an old database file is brought up to
 * date on open. Never edit an entry once released: add a new one.
 */

/** Migration `i` takes a database from user_version `i` to `i + 1`. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE requests (
    uuid             TEXT PRIMARY KEY,
    ref              TEXT NOT NULL UNIQUE,
    trace_id         TEXT NOT NULL,
    name             TEXT,
    description      TEXT,
    template_ref     TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    payload_hash     TEXT NOT NULL,
    status           TEXT NOT NULL,
    revision         INTEGER NOT NULL,
    scheduled_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    error            TEXT,
    owner            TEXT,
    lease_expires_at INTEGER,
    version          INTEGER NOT NULL
  );
  -- List pages are newest first with a (created_at, uuid) keyset, alone or under one filter.
  -- A ref is unique, so its UNIQUE index suffices.
  CREATE INDEX requests_by_created ON requests (created_at DESC, uuid DESC);
  CREATE INDEX requests_by_status ON requests (status, created_at DESC, uuid DESC);
  CREATE INDEX requests_by_template ON requests (template_ref, created_at DESC, uuid DESC);
  CREATE INDEX requests_by_trace ON requests (trace_id, created_at DESC, uuid DESC);
  -- Partial indexes for the two claims: only waiting schedules are looked up by due time, and
  -- only unfinished requests are claimed, oldest first, so neither grows with finished history.
  CREATE INDEX requests_due ON requests (scheduled_at, uuid) WHERE status = 'scheduled';
  CREATE INDEX requests_unfinished ON requests (created_at, uuid)
    WHERE status IN ('pending', 'running', 'canceling');

  CREATE TABLE revisions (
    request_uuid TEXT NOT NULL REFERENCES requests (uuid),
    revision     INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    payload      TEXT NOT NULL,
    template     TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    ended_at     INTEGER,
    error        TEXT,
    warnings     TEXT NOT NULL,
    version      INTEGER NOT NULL,
    PRIMARY KEY (request_uuid, revision)
  );

  -- seq is an explicit INTEGER PRIMARY KEY (not the implicit rowid, which VACUUM may renumber)
  -- so that "creation order" of a revision's task runs stays stable.
  CREATE TABLE task_runs (
    seq             INTEGER PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    request_uuid    TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    task_ref        TEXT NOT NULL,
    class_name      TEXT NOT NULL,
    state           TEXT NOT NULL,
    last_task_state TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    inputs          TEXT,
    attributes      TEXT NOT NULL,
    error           TEXT,
    created_at      INTEGER NOT NULL,
    started_at      INTEGER,
    ended_at        INTEGER,
    version         INTEGER NOT NULL,
    FOREIGN KEY (request_uuid, revision) REFERENCES revisions (request_uuid, revision)
  );
  CREATE INDEX task_runs_by_revision ON task_runs (request_uuid, revision, seq);

  -- Followers page with afterSeq, so a seq must never be reused: log lines are never deleted, so
  -- the rowid only grows (AUTOINCREMENT would cost a third of every insert for nothing).
  -- One index: a task's lines are found among its request's, which are few enough to filter.
  CREATE TABLE logs (
    seq          INTEGER PRIMARY KEY,
    request_uuid TEXT NOT NULL REFERENCES requests (uuid),
    task_uuid    TEXT,
    ts           INTEGER NOT NULL,
    level        TEXT NOT NULL,
    source       TEXT NOT NULL,
    message      TEXT NOT NULL
  );
  CREATE INDEX logs_by_request ON logs (request_uuid, seq);
  `,
  // Templates registered over the API. The key is the table: a ref_name and version is stored once.
  `
  CREATE TABLE templates (
    ref_name   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (ref_name, version)
  ) WITHOUT ROWID;
  `,
  // The unfinished requests' index again, its predicate spelled as ORs: SQLite tests `status IN
  // (…)` in a partial index's predicate through a temporary B-tree, built on every insert of a
  // request and twice on every update (a quarter of SQLite's instructions in W1, counted with
  // callgrind). The claim's WHERE must spell it the same way (UNFINISHED in statements.ts).
  `
  DROP INDEX requests_unfinished;
  CREATE INDEX requests_unfinished ON requests (created_at, uuid)
    WHERE status = 'pending' OR status = 'running' OR status = 'canceling';
  `,
  // Log lines stored as chunks: the consecutive lines of one task run (or of the request itself)
  // written by one commit are one row, keyed by the seq of its last line (a line's seq is its
  // chunk's minus the lines after it). A W1 request wrote five rows and five index entries for its
  // five lines; it now writes three of each (SQLite's instructions per request −11 %), and a task
  // that logs a job's output at its end writes one row per hundred lines instead of one per line.
  // No foreign key, as on PostgreSQL: a fenced commit has checked the request already, and the
  // check cost 4 % of SQLite's instructions in W1.
  `
  CREATE TABLE log_chunks (
    seq          INTEGER PRIMARY KEY,
    request_uuid TEXT NOT NULL,
    task_uuid    TEXT,
    lines        TEXT NOT NULL
  );
  CREATE INDEX log_chunks_by_request ON log_chunks (request_uuid, seq);
  INSERT INTO log_chunks (seq, request_uuid, task_uuid, lines)
    SELECT seq, request_uuid, task_uuid, json_array(json_array(ts, level, source, message)) FROM logs;
  DROP TABLE logs;
  `,
  // The list indexes again, ascending: a new request has the newest created_at, so under
  // (created_at DESC, …) it went to the first leaf of each, where every split moves cells among
  // three pages; ascending, it lands on the last leaf. SQLite reads them backwards for the lists'
  // newest-first order, with the same plans (SQLite's instructions per W1 request −3 %).
  `
  DROP INDEX requests_by_created;
  DROP INDEX requests_by_status;
  DROP INDEX requests_by_template;
  DROP INDEX requests_by_trace;
  CREATE INDEX requests_by_created ON requests (created_at, uuid);
  CREATE INDEX requests_by_status ON requests (status, created_at, uuid);
  CREATE INDEX requests_by_template ON requests (template_ref, created_at, uuid);
  CREATE INDEX requests_by_trace ON requests (trace_id, created_at, uuid);
  `,
  // No table changes: a log chunk may now hold the lines of several task runs of one request (its
  // task_uuid '*', each line naming its own). The version moves so that an older O3, which would
  // take such a chunk's lines for one task run's, refuses the file.
  `
  -- log chunks may be mixed (rows.ts, MIXED_CHUNK)
  `,
];

/**
 * The PostgreSQL schema as an ordered list of migrations; `schema_migrations` records which ones a
 * schema has seen. Never edit an entry once released: add a new one.
 *
 * Every table and function is created unqualified: the store's connections set `search_path` to
 * the store's schema, so one text serves every schema and the functions find their tables.
 *
 * Writes go through PL/pgSQL functions so that a commit, however many records it carries, is one
 * round trip and one statement: multi-row INSERT/UPDATE over json_to_recordset of the records
 * (their JSON keys are the records' own field names), with the rows written counted against the
 * rows given. A function that raises rolls the whole statement back, which is what makes a stale
 * record abort the change set.
 */

// Shared column lists of the record types, as json_to_recordset reads them.
const REQUEST_FIELDS = `uuid text, ref text, "traceId" text, name text, description text,
  "templateRef" text, "templateVersion" integer, "payloadHash" text, status text, revision integer,
  "scheduledAt" bigint, "createdAt" bigint, "updatedAt" bigint, "endedAt" bigint, error text,
  owner text, "leaseExpiresAt" bigint, version integer`;

const REVISION_FIELDS = `"requestUuid" text, revision integer, reason text, payload json, template json,
  status text, "createdAt" bigint, "startedAt" bigint, "endedAt" bigint, error text, warnings json,
  version integer`;

const TASK_RUN_FIELDS = `uuid text, "requestUuid" text, revision integer, "taskRef" text,
  "className" text, state text, "lastTaskState" text, attempt integer, inputs json, attributes json,
  error text, "createdAt" bigint, "startedAt" bigint, "endedAt" bigint, version integer`;

const LOG_FIELDS = `"requestUuid" text, "taskUuid" text, ts bigint, level text, source text, message text`;

const TABLES = `
  CREATE TABLE requests (
    uuid             text COLLATE "C" PRIMARY KEY,
    ref              text NOT NULL UNIQUE,
    trace_id         text NOT NULL,
    name             text,
    description      text,
    template_ref     text NOT NULL,
    template_version integer NOT NULL,
    payload_hash     text NOT NULL,
    status           text NOT NULL,
    revision         integer NOT NULL,
    scheduled_at     bigint,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL,
    ended_at         bigint,
    error            text,
    owner            text,
    lease_expires_at bigint,
    version          integer NOT NULL
  ) WITH (fillfactor = 80);
  -- List pages are newest first with a (created_at, uuid) keyset, alone or under one filter. uuid
  -- is COLLATE "C" so that the keyset order is byte order, the order every store pages in.
  CREATE INDEX requests_by_created ON requests (created_at DESC, uuid DESC);
  CREATE INDEX requests_by_status ON requests (status, created_at DESC, uuid DESC);
  CREATE INDEX requests_by_template ON requests (template_ref, created_at DESC, uuid DESC);
  CREATE INDEX requests_by_trace ON requests (trace_id, created_at DESC, uuid DESC);
  -- Partial indexes for the two claims, so neither grows with finished history.
  CREATE INDEX requests_due ON requests (scheduled_at, uuid) WHERE status = 'scheduled';
  CREATE INDEX requests_unfinished ON requests (created_at, uuid)
    WHERE status IN ('pending', 'running', 'canceling');

  CREATE TABLE revisions (
    request_uuid text COLLATE "C" NOT NULL REFERENCES requests (uuid),
    revision     integer NOT NULL,
    reason       text NOT NULL,
    payload      json,
    template     json,
    status       text NOT NULL,
    created_at   bigint NOT NULL,
    started_at   bigint,
    ended_at     bigint,
    error        text,
    warnings     json NOT NULL,
    version      integer NOT NULL,
    PRIMARY KEY (request_uuid, revision)
  );

  -- json, not jsonb: nothing queries inside these values, json keeps them exactly as written (key
  -- order, \\u0000) and costs no conversion on the hot write path. A task run is updated many times,
  -- and none of its indexed columns ever changes: fillfactor leaves room for HOT updates.
  CREATE TABLE task_runs (
    uuid            text COLLATE "C" PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    request_uuid    text COLLATE "C" NOT NULL,
    revision        integer NOT NULL,
    task_ref        text NOT NULL,
    class_name      text NOT NULL,
    state           text NOT NULL,
    last_task_state text NOT NULL,
    attempt         integer NOT NULL,
    inputs          json,
    attributes      json NOT NULL,
    error           text,
    created_at      bigint NOT NULL,
    started_at      bigint,
    ended_at        bigint,
    version         integer NOT NULL,
    FOREIGN KEY (request_uuid, revision) REFERENCES revisions (request_uuid, revision)
  ) WITH (fillfactor = 70);
  CREATE INDEX task_runs_by_revision ON task_runs (request_uuid, revision, seq);

  -- An identity is never reused, so followers paging with afterSeq never miss a line. Only the
  -- owner of a request appends to its log (commits are fenced), so per request seq follows commit
  -- order. No foreign key: a fenced commit has already checked the request, and a per-row key
  -- check would double the cost of the commonest write.
  CREATE TABLE logs (
    request_uuid text COLLATE "C" NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    task_uuid    text COLLATE "C",
    ts           bigint NOT NULL,
    level        text NOT NULL,
    source       text NOT NULL,
    message      text NOT NULL,
    PRIMARY KEY (request_uuid, seq)
  );
  CREATE INDEX logs_by_task ON logs (request_uuid, task_uuid, seq) WHERE task_uuid IS NOT NULL;
`;

const STALE = `
  -- Raises the stale-write error (SQLSTATE O3STL, mapped to StaleWriteError by the store).
  CREATE FUNCTION o3_stale(what text, wanted integer, stored integer) RETURNS void
  LANGUAGE plpgsql AS $$
  BEGIN
    IF what IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = 'O3STL',
        MESSAGE = 'Stale write: a record appears twice in one change set with the same version.';
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'O3STL', MESSAGE = format(
      'Stale write of %s: version %s needs version %s, but %s.', what, wanted, wanted - 1,
      CASE WHEN stored IS NULL THEN 'none is stored' ELSE format('version %s is stored', stored) END);
  END $$;
`;

// Each save function inserts the version-1 records (ON CONFLICT DO NOTHING, so "exists" shows up
// as a missing row, not as an error) and compare-and-sets the others, in one statement; then, only
// when fewer rows were written than given, finds the first record that was not and raises.
const SAVE_REQUESTS = `
  CREATE FUNCTION o3_save_requests(p json) RETURNS void
  LANGUAGE plpgsql AS $$
  DECLARE
    written text[];
    bad record;
  BEGIN
    WITH x AS (SELECT * FROM json_to_recordset(p) AS x (${REQUEST_FIELDS})),
    ins AS (
      INSERT INTO requests (uuid, ref, trace_id, name, description, template_ref, template_version,
        payload_hash, status, revision, scheduled_at, created_at, updated_at, ended_at, error, owner,
        lease_expires_at, version)
      SELECT uuid, ref, "traceId", name, description, "templateRef", "templateVersion", "payloadHash",
        status, revision, "scheduledAt", "createdAt", "updatedAt", "endedAt", error, owner,
        "leaseExpiresAt", version
      FROM x WHERE version = 1
      ON CONFLICT DO NOTHING RETURNING requests.uuid),
    -- owner and lease_expires_at are deliberately absent: only the lease operations move them.
    upd AS (
      UPDATE requests r SET trace_id = x."traceId", name = x.name, description = x.description,
        template_ref = x."templateRef", template_version = x."templateVersion",
        payload_hash = x."payloadHash", status = x.status, revision = x.revision,
        scheduled_at = x."scheduledAt", updated_at = x."updatedAt", ended_at = x."endedAt",
        error = x.error, version = x.version
      FROM x WHERE x.version > 1 AND r.uuid = x.uuid AND r.version = x.version - 1
      RETURNING r.uuid)
    SELECT array_agg(w.uuid) INTO written FROM (SELECT uuid FROM ins UNION ALL SELECT uuid FROM upd) w;
    IF coalesce(cardinality(written), 0) < json_array_length(p) THEN
      SELECT 'request ' || x.uuid AS what, x.version, r.version AS stored INTO bad
        FROM json_to_recordset(p) AS x (uuid text, version integer)
        LEFT JOIN requests r ON r.uuid = x.uuid
        WHERE x.uuid <> ALL (coalesce(written, '{}')) LIMIT 1;
      PERFORM o3_stale(bad.what, bad.version, bad.stored);
    END IF;
  END $$;
`;

const SAVE_REVISIONS = `
  CREATE FUNCTION o3_save_revisions(p json) RETURNS void
  LANGUAGE plpgsql AS $$
  DECLARE
    written text[];
    bad record;
  BEGIN
    WITH x AS (SELECT * FROM json_to_recordset(p) AS x (${REVISION_FIELDS})),
    ins AS (
      INSERT INTO revisions (request_uuid, revision, reason, payload, template, status, created_at,
        started_at, ended_at, error, warnings, version)
      SELECT "requestUuid", revision, reason, payload, template, status, "createdAt", "startedAt",
        "endedAt", error, coalesce(warnings, '[]'), version
      FROM x WHERE version = 1
      ON CONFLICT DO NOTHING RETURNING request_uuid || '/' || revision AS k),
    -- reason, payload, template and warnings are fixed when a revision is added.
    upd AS (
      UPDATE revisions r SET status = x.status, started_at = x."startedAt", ended_at = x."endedAt",
        error = x.error, version = x.version
      FROM x WHERE x.version > 1 AND r.request_uuid = x."requestUuid" AND r.revision = x.revision
        AND r.version = x.version - 1
      RETURNING r.request_uuid || '/' || r.revision AS k)
    SELECT array_agg(w.k) INTO written FROM (SELECT k FROM ins UNION ALL SELECT k FROM upd) w;
    IF coalesce(cardinality(written), 0) < json_array_length(p) THEN
      SELECT format('revision %s of request %s', x.revision, x."requestUuid") AS what, x.version,
          r.version AS stored INTO bad
        FROM json_to_recordset(p) AS x ("requestUuid" text, revision integer, version integer)
        LEFT JOIN revisions r ON r.request_uuid = x."requestUuid" AND r.revision = x.revision
        WHERE x."requestUuid" || '/' || x.revision <> ALL (coalesce(written, '{}')) LIMIT 1;
      PERFORM o3_stale(bad.what, bad.version, bad.stored);
    END IF;
  END $$;
`;

// Inserts follow the order of the array (WITH ORDINALITY): seq is "creation order".
const SAVE_TASK_RUNS = `
  CREATE FUNCTION o3_save_task_runs(p json) RETURNS void
  LANGUAGE plpgsql AS $$
  DECLARE
    written text[];
    bad record;
  BEGIN
    WITH x AS (SELECT * FROM ROWS FROM (json_to_recordset(p) AS (${TASK_RUN_FIELDS})) WITH ORDINALITY AS x),
    ins AS (
      INSERT INTO task_runs (uuid, request_uuid, revision, task_ref, class_name, state,
        last_task_state, attempt, inputs, attributes, error, created_at, started_at, ended_at, version)
      SELECT uuid, "requestUuid", revision, "taskRef", "className", state, "lastTaskState", attempt,
        inputs, coalesce(attributes, '{}'), error, "createdAt", "startedAt", "endedAt", version
      FROM x WHERE version = 1 ORDER BY ordinality
      ON CONFLICT DO NOTHING RETURNING task_runs.uuid),
    upd AS (
      UPDATE task_runs t SET task_ref = x."taskRef", class_name = x."className", state = x.state,
        last_task_state = x."lastTaskState", attempt = x.attempt, inputs = x.inputs,
        attributes = coalesce(x.attributes, '{}'), error = x.error, started_at = x."startedAt",
        ended_at = x."endedAt", version = x.version
      FROM x WHERE x.version > 1 AND t.uuid = x.uuid AND t.version = x.version - 1
      RETURNING t.uuid)
    SELECT array_agg(w.uuid) INTO written FROM (SELECT uuid FROM ins UNION ALL SELECT uuid FROM upd) w;
    IF coalesce(cardinality(written), 0) < json_array_length(p) THEN
      SELECT 'task run ' || x.uuid AS what, x.version, t.version AS stored INTO bad
        FROM json_to_recordset(p) AS x (uuid text, version integer)
        LEFT JOIN task_runs t ON t.uuid = x.uuid
        WHERE x.uuid <> ALL (coalesce(written, '{}')) LIMIT 1;
      PERFORM o3_stale(bad.what, bad.version, bad.stored);
    END IF;
  END $$;
`;

const APPEND_LOGS = `
  CREATE FUNCTION o3_append_logs(p json) RETURNS void
  LANGUAGE sql AS $$
    INSERT INTO logs (request_uuid, task_uuid, ts, level, source, message)
    SELECT "requestUuid", "taskUuid", ts, level, source, message
    FROM ROWS FROM (json_to_recordset(p) AS (${LOG_FIELDS})) WITH ORDINALITY AS x ORDER BY ordinality;
  $$;
`;

// Fencing locks the touched requests first, in uuid order (so two commits of one request queue
// instead of deadlocking), and checks their owner last, after the writes: request saves never move
// the owner, and a request inserted by this very change set is then covered too. The lock keeps a
// claim by another node (FOR UPDATE SKIP LOCKED) from slipping in between check and commit.
const COMMIT = `
  CREATE FUNCTION o3_commit(p_requests json, p_revisions json, p_task_runs json, p_logs json,
    p_owner text, p_touched text[], p_releases text[]) RETURNS void
  LANGUAGE plpgsql AS $$
  DECLARE
    bad record;
  BEGIN
    IF p_owner IS NOT NULL THEN
      PERFORM 1 FROM requests WHERE uuid = ANY (p_touched) ORDER BY uuid FOR NO KEY UPDATE;
    END IF;
    IF p_requests IS NOT NULL THEN PERFORM o3_save_requests(p_requests); END IF;
    IF p_revisions IS NOT NULL THEN PERFORM o3_save_revisions(p_revisions); END IF;
    IF p_task_runs IS NOT NULL THEN PERFORM o3_save_task_runs(p_task_runs); END IF;
    IF p_logs IS NOT NULL THEN PERFORM o3_append_logs(p_logs); END IF;
    IF p_owner IS NOT NULL THEN
      SELECT t.uuid, r.uuid IS NULL AS missing, r.owner INTO bad
        FROM unnest(p_touched) AS t (uuid) LEFT JOIN requests r ON r.uuid = t.uuid
        WHERE r.owner IS DISTINCT FROM p_owner LIMIT 1;
      IF FOUND AND bad.missing THEN
        RAISE EXCEPTION USING ERRCODE = 'O3STL', MESSAGE = format('Request %s does not exist.', bad.uuid);
      ELSIF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'O3STL', MESSAGE = format(
          'Request %s is owned by %s, not by %s; the lease was lost.', bad.uuid,
          CASE WHEN bad.owner IS NULL THEN 'no node' ELSE 'node ' || bad.owner END, p_owner);
      END IF;
      -- Leases given up with the last writes; one another node holds is left alone.
      IF p_releases IS NOT NULL THEN
        UPDATE requests SET owner = NULL, lease_expires_at = NULL
          WHERE uuid = ANY (p_releases) AND owner = p_owner;
      END IF;
    END IF;
  END $$;
`;

// Returns null when the request was created, else the uuid of the request holding the ref.
const CREATE_REQUEST = `
  CREATE FUNCTION o3_create_request(p_request json, p_revision json, p_task_runs json, p_logs json)
    RETURNS text
  LANGUAGE plpgsql AS $$
  DECLARE
    inserted text;
    existing text;
  BEGIN
    INSERT INTO requests (uuid, ref, trace_id, name, description, template_ref, template_version,
      payload_hash, status, revision, scheduled_at, created_at, updated_at, ended_at, error, owner,
      lease_expires_at, version)
    SELECT uuid, ref, "traceId", name, description, "templateRef", "templateVersion", "payloadHash",
      status, revision, "scheduledAt", "createdAt", "updatedAt", "endedAt", error, owner,
      "leaseExpiresAt", version
    FROM json_to_record(p_request) AS x (${REQUEST_FIELDS})
    ON CONFLICT DO NOTHING RETURNING uuid INTO inserted;
    IF inserted IS NULL THEN
      -- A new statement sees a concurrent creator's row once its insert (which we waited on) committed.
      SELECT uuid INTO existing FROM requests WHERE ref = p_request ->> 'ref';
      IF existing IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'O3STL', MESSAGE = format(
          'A request with uuid %s already exists under another ref.', p_request ->> 'uuid');
      END IF;
      RETURN existing;
    END IF;
    PERFORM o3_save_revisions(json_build_array(p_revision));
    IF p_task_runs IS NOT NULL THEN PERFORM o3_save_task_runs(p_task_runs); END IF;
    IF p_logs IS NOT NULL THEN PERFORM o3_append_logs(p_logs); END IF;
    RETURN NULL;
  END $$;
`;

// Many creates in one transaction: each item as o3_create_request would, in order, so a ref repeated
// in the batch finds the request its first item created. Returns one "existing" per item.
const CREATE_REQUESTS = `
  CREATE FUNCTION o3_create_requests(p json) RETURNS text[]
  LANGUAGE plpgsql AS $$
  DECLARE
    item json;
    answers text[] := '{}';
  BEGIN
    FOR item IN SELECT value FROM json_array_elements(p) LOOP
      answers := answers || o3_create_request(item -> 'request', item -> 'revision', item -> 'taskRuns',
        item -> 'logs');
    END LOOP;
    RETURN answers;
  END $$;
`;

// Templates registered over the API: a ref_name and version is stored once (the primary key), and
// json keeps the document as written.
const TEMPLATES = `
  CREATE TABLE templates (
    ref_name   text NOT NULL,
    version    integer NOT NULL,
    document   json NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (ref_name, version)
  );
`;

// ---- Migration 3: set-based writes ---------------------------------------------------------------
// The functions above stay for nodes of an older O3 still running during an upgrade; this O3 calls
// only the two below. Each record kind is one multi-row statement for the whole batch, written
// straight in the function's body (no nested function call per kind, no loop per item), and runs
// only when its kind is present. Inserts (version 1) and saves (version > 1) arrive apart, so an
// insert is a plain INSERT ... ON CONFLICT DO NOTHING and a save a plain compare-and-set UPDATE.

// Every statement of these functions reads or writes a batch's own rows by key. The planner cannot
// know how many there are (a generic plan guesses 10 or 100) and, for a table of a few thousand
// rows, or one never analyzed, prefers a sequential scan or a hash join over the whole table, which
// makes each commit cost grow with the table. Within these functions only, it is told to look the
// rows up through their index, and to keep one plan per statement: left to choose, it plans some
// statements again on every call (a custom plan for the given array of uuids looks cheaper than the
// generic one), which costs more than the statement itself.
const KEY_LOOKUPS = `SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    SET plan_cache_mode = force_generic_plan`;

// The fields a save may change, as the store sends them (identity fields are not sent again).
const REQUEST_SAVE_FIELDS = `uuid text, "traceId" text, name text, description text, "templateRef" text,
  "templateVersion" integer, "payloadHash" text, status text, revision integer, "scheduledAt" bigint,
  "updatedAt" bigint, "endedAt" bigint, error text, version integer, release boolean`;

const REVISION_SAVE_FIELDS = `"requestUuid" text, revision integer, status text, "startedAt" bigint,
  "endedAt" bigint, error text, version integer`;

const TASK_RUN_SAVE_FIELDS = `uuid text, "taskRef" text, "className" text, state text,
  "lastTaskState" text, attempt integer, inputs json, attributes json, error text, "startedAt" bigint,
  "endedAt" bigint, version integer`;

const INSERT_REQUESTS = `INSERT INTO requests (uuid, ref, trace_id, name, description, template_ref,
    template_version, payload_hash, status, revision, scheduled_at, created_at, updated_at, ended_at,
    error, owner, lease_expires_at, version)`;
const REQUEST_VALUES = `uuid, ref, "traceId", name, description, "templateRef", "templateVersion",
    "payloadHash", status, revision, "scheduledAt", "createdAt", "updatedAt", "endedAt", error, owner,
    "leaseExpiresAt", version`;
const INSERT_REVISIONS = `INSERT INTO revisions (request_uuid, revision, reason, payload, template,
    status, created_at, started_at, ended_at, error, warnings, version)`;
const REVISION_VALUES = `"requestUuid", revision, reason, payload, template, status, "createdAt",
    "startedAt", "endedAt", error, coalesce(warnings, '[]'), version`;
const INSERT_TASK_RUNS = `INSERT INTO task_runs (uuid, request_uuid, revision, task_ref, class_name,
    state, last_task_state, attempt, inputs, attributes, error, created_at, started_at, ended_at, version)`;
const TASK_RUN_VALUES = `uuid, "requestUuid", revision, "taskRef", "className", state, "lastTaskState",
    attempt, inputs, coalesce(attributes, '{}'), error, "createdAt", "startedAt", "endedAt", version`;

// The first record of a JSON array that a write left out (its key is not among those written),
// named with its stored version, and the stale-write error raised for it (o3_stale names a record
// given twice when every key was written).
const raiseFirstUnwritten = (what: string, fields: string, join: string, key: string, json: string) => `
      SELECT ${what} AS what, x.version, s.version AS stored INTO bad
        FROM json_to_recordset(${json}) AS x (${fields}) LEFT JOIN ${join}
        WHERE ${key} <> ALL (coalesce(written, '{}')) LIMIT 1;
      PERFORM o3_stale(bad.what, bad.version, bad.stored);`;

/** The column names of a field list such as REQUEST_FIELDS, for a table alias that renames them. */
const names = (fields: string): string =>
  fields
    .split(',')
    .map((field) => field.trim().split(/\s+/)[0])
    .join(', ');

const STALE_REQUEST = (json: string) =>
  raiseFirstUnwritten(
    `'request ' || x.uuid`,
    'uuid text, version integer',
    'requests s ON s.uuid = x.uuid',
    'x.uuid',
    json,
  );
const STALE_REVISION = (json: string) =>
  raiseFirstUnwritten(
    `format('revision %s of request %s', x.revision, x."requestUuid")`,
    '"requestUuid" text, revision integer, version integer',
    'revisions s ON s.request_uuid = x."requestUuid" AND s.revision = x.revision',
    `x."requestUuid" || '/' || x.revision`,
    json,
  );
const STALE_TASK_RUN = (json: string) =>
  raiseFirstUnwritten(
    `'task run ' || x.uuid`,
    'uuid text, version integer',
    'task_runs s ON s.uuid = x.uuid',
    'x.uuid',
    json,
  );

// The writes of a change set's saves, each a CTE body or statement that returns the keys it wrote.
const LOCK_TOUCHED = `SELECT owner FROM requests WHERE uuid = ANY (p_touched) ORDER BY uuid
        FOR NO KEY UPDATE`;
// A save keeps owner and lease_expires_at: only the lease operations move them (a release given
// with the save included, see above).
const SAVE_REQUESTS_SQL = (owned: string) => `
        UPDATE requests r SET trace_id = x."traceId", name = x.name, description = x.description,
          template_ref = x."templateRef", template_version = x."templateVersion",
          payload_hash = x."payloadHash", status = x.status, revision = x.revision,
          scheduled_at = x."scheduledAt", updated_at = x."updatedAt", ended_at = x."endedAt",
          error = x.error, version = x.version,
          owner = CASE WHEN x.release AND ${owned} THEN NULL ELSE r.owner END,
          lease_expires_at = CASE WHEN x.release AND ${owned} THEN NULL ELSE r.lease_expires_at END
        FROM json_to_recordset(p_requests) AS x (${REQUEST_SAVE_FIELDS})
        WHERE r.uuid = x.uuid AND r.version = x.version - 1
        RETURNING r.uuid AS k`;
// reason, payload, template and warnings are fixed when a revision is added.
const SAVE_REVISIONS_SQL = `
        UPDATE revisions r SET status = x.status, started_at = x."startedAt", ended_at = x."endedAt",
          error = x.error, version = x.version
        FROM json_to_recordset(p_revisions) AS x (${REVISION_SAVE_FIELDS})
        WHERE r.request_uuid = x."requestUuid" AND r.revision = x.revision AND r.version = x.version - 1
        RETURNING r.request_uuid || '/' || r.revision AS k`;
const SAVE_TASK_RUNS_SQL = `
        UPDATE task_runs t SET task_ref = x."taskRef", class_name = x."className", state = x.state,
          last_task_state = x."lastTaskState", attempt = x.attempt, inputs = x.inputs,
          attributes = coalesce(x.attributes, '{}'), error = x.error, started_at = x."startedAt",
          ended_at = x."endedAt", version = x.version
        FROM json_to_recordset(p_task_runs) AS x (${TASK_RUN_SAVE_FIELDS})
        WHERE t.uuid = x.uuid AND t.version = x.version - 1
        RETURNING t.uuid AS k`;
// In the order of the array: seq is the order lines were appended in.
const APPEND_LOGS_SQL = `
        INSERT INTO logs (request_uuid, task_uuid, ts, level, source, message)
        SELECT "requestUuid", "taskUuid", ts, level, source, message
        FROM ROWS FROM (json_to_recordset(p_logs) AS (${LOG_FIELDS})) WITH ORDINALITY AS x
        ORDER BY ordinality`;

// Fencing locks the touched requests first, in uuid order (two commits of one request queue instead
// of deadlocking; a claim's FOR UPDATE SKIP LOCKED passes them by), and counts those this node owns
// while locking: under the lock no other transaction can move their owner, and saves never do. Only
// when some are not (another node's, nobody's, or inserted by this very change set) is the owner
// looked at again, after the writes, as migration 1 does, so that a stale record is reported first.
//
// Releases: a request saved by the change set carries "release" in its save when its lease is given
// up too (p_releases holds only the others). When every touched request is this node's, that
// save clears owner and lease itself, so the row is written once instead of twice; otherwise the
// fencing check below raises, or finds every one owned after all (a request inserted here), and
// the releases are applied after it, as migration 1 does.
//
// The commits the engine makes (fenced, saves and log lines only) are one statement: the lock of
// the touched requests comes first (the select list reads it first), then the saves and log lines,
// each a CTE; the checks follow the statement, and raising undoes all of it. Any other change set
// (inserts, or no owner) runs as a statement per kind, the lock first as well.
const SAVE_CHANGES = `
  CREATE FUNCTION o3_save_changes(p_owner text, p_touched text[], p_new_requests json,
    p_requests json, p_new_revisions json, p_revisions json, p_new_task_runs json, p_task_runs json,
    p_logs json, p_releases text[]) RETURNS void
  LANGUAGE plpgsql ${KEY_LOOKUPS} AS $$
  DECLARE
    held bigint := 0;
    owned boolean := false;
    releases text[] := p_releases;
    w_requests text[];
    w_revisions text[];
    w_task_runs text[];
    written text[];
    bad record;
  BEGIN
    IF p_owner IS NOT NULL AND p_new_requests IS NULL AND p_new_revisions IS NULL
        AND p_new_task_runs IS NULL THEN
      IF p_requests IS NULL AND p_revisions IS NULL THEN
        WITH l AS (${LOCK_TOUCHED}),
        h AS (SELECT count(*) FILTER (WHERE l.owner = p_owner) AS n FROM l),
        t AS (${SAVE_TASK_RUNS_SQL}),
        g AS (${APPEND_LOGS_SQL})
        SELECT (SELECT n FROM h), (SELECT array_agg(k) FROM t) INTO held, w_task_runs;
      ELSE
        WITH l AS (${LOCK_TOUCHED}),
        h AS (SELECT count(*) FILTER (WHERE l.owner = p_owner) AS n FROM l),
        q AS (${SAVE_REQUESTS_SQL('(SELECT n FROM h) = cardinality(p_touched)')}),
        v AS (${SAVE_REVISIONS_SQL}),
        t AS (${SAVE_TASK_RUNS_SQL}),
        g AS (${APPEND_LOGS_SQL})
        SELECT (SELECT n FROM h), (SELECT array_agg(k) FROM q), (SELECT array_agg(k) FROM v),
            (SELECT array_agg(k) FROM t)
          INTO held, w_requests, w_revisions, w_task_runs;
      END IF;
      owned := held = cardinality(p_touched);
      IF p_requests IS NOT NULL
          AND coalesce(cardinality(w_requests), 0) < json_array_length(p_requests) THEN
        written := w_requests;
        ${STALE_REQUEST('p_requests')}
      END IF;
      IF p_revisions IS NOT NULL
          AND coalesce(cardinality(w_revisions), 0) < json_array_length(p_revisions) THEN
        written := w_revisions;
        ${STALE_REVISION('p_revisions')}
      END IF;
      IF p_task_runs IS NOT NULL
          AND coalesce(cardinality(w_task_runs), 0) < json_array_length(p_task_runs) THEN
        written := w_task_runs;
        ${STALE_TASK_RUN('p_task_runs')}
      END IF;
    ELSE
      IF p_owner IS NOT NULL THEN
        SELECT count(*) FILTER (WHERE l.owner = p_owner) INTO held FROM (${LOCK_TOUCHED}) l;
        owned := held = cardinality(p_touched);
      END IF;

      IF p_new_requests IS NOT NULL THEN
        WITH w AS (
          ${INSERT_REQUESTS}
          SELECT ${REQUEST_VALUES} FROM json_to_recordset(p_new_requests) AS x (${REQUEST_FIELDS})
          ON CONFLICT DO NOTHING RETURNING requests.uuid AS k)
        SELECT array_agg(k) INTO written FROM w;
        IF coalesce(cardinality(written), 0) < json_array_length(p_new_requests) THEN
          ${STALE_REQUEST('p_new_requests')}
        END IF;
      END IF;
      IF p_requests IS NOT NULL THEN
        WITH w AS (${SAVE_REQUESTS_SQL('owned')})
        SELECT array_agg(k) INTO written FROM w;
        IF coalesce(cardinality(written), 0) < json_array_length(p_requests) THEN
          ${STALE_REQUEST('p_requests')}
        END IF;
      END IF;

      IF p_new_revisions IS NOT NULL THEN
        WITH w AS (
          ${INSERT_REVISIONS}
          SELECT ${REVISION_VALUES} FROM json_to_recordset(p_new_revisions) AS x (${REVISION_FIELDS})
          ON CONFLICT DO NOTHING RETURNING request_uuid || '/' || revision AS k)
        SELECT array_agg(k) INTO written FROM w;
        IF coalesce(cardinality(written), 0) < json_array_length(p_new_revisions) THEN
          ${STALE_REVISION('p_new_revisions')}
        END IF;
      END IF;
      IF p_revisions IS NOT NULL THEN
        WITH w AS (${SAVE_REVISIONS_SQL})
        SELECT array_agg(k) INTO written FROM w;
        IF coalesce(cardinality(written), 0) < json_array_length(p_revisions) THEN
          ${STALE_REVISION('p_revisions')}
        END IF;
      END IF;

      -- Inserts follow the order of the array: seq is creation order.
      IF p_new_task_runs IS NOT NULL THEN
        WITH w AS (
          ${INSERT_TASK_RUNS}
          SELECT ${TASK_RUN_VALUES}
          FROM ROWS FROM (json_to_recordset(p_new_task_runs) AS (${TASK_RUN_FIELDS})) WITH ORDINALITY AS x
          ORDER BY ordinality
          ON CONFLICT DO NOTHING RETURNING task_runs.uuid AS k)
        SELECT array_agg(k) INTO written FROM w;
        IF coalesce(cardinality(written), 0) < json_array_length(p_new_task_runs) THEN
          ${STALE_TASK_RUN('p_new_task_runs')}
        END IF;
      END IF;
      IF p_task_runs IS NOT NULL THEN
        WITH w AS (${SAVE_TASK_RUNS_SQL})
        SELECT array_agg(k) INTO written FROM w;
        IF coalesce(cardinality(written), 0) < json_array_length(p_task_runs) THEN
          ${STALE_TASK_RUN('p_task_runs')}
        END IF;
      END IF;

      IF p_logs IS NOT NULL THEN ${APPEND_LOGS_SQL}; END IF;
    END IF;

    IF p_owner IS NOT NULL THEN
      IF NOT owned THEN
        SELECT t.uuid, r.uuid IS NULL AS missing, r.owner INTO bad
          FROM unnest(p_touched) AS t (uuid) LEFT JOIN requests r ON r.uuid = t.uuid
          WHERE r.owner IS DISTINCT FROM p_owner LIMIT 1;
        IF FOUND AND bad.missing THEN
          RAISE EXCEPTION USING ERRCODE = 'O3STL', MESSAGE = format('Request %s does not exist.', bad.uuid);
        ELSIF FOUND THEN
          RAISE EXCEPTION USING ERRCODE = 'O3STL', MESSAGE = format(
            'Request %s is owned by %s, not by %s; the lease was lost.', bad.uuid,
            CASE WHEN bad.owner IS NULL THEN 'no node' ELSE 'node ' || bad.owner END, p_owner);
        END IF;
      END IF;
      -- Leases given up with the last writes; one another node holds is left alone.
      IF NOT owned AND p_requests IS NOT NULL THEN
        SELECT coalesce(releases, '{}') || array_agg(x.uuid) INTO releases
          FROM json_to_recordset(p_requests) AS x (uuid text, release boolean) WHERE x.release;
      END IF;
      IF releases IS NOT NULL THEN
        UPDATE requests SET owner = NULL, lease_expires_at = NULL
          WHERE uuid = ANY (releases) AND owner = p_owner;
      END IF;
    END IF;
  END $$;
`;

// Many new requests in one transaction, all-or-nothing, answered as o3_create_requests answers
// them (one "existing" uuid per item, null for an item that created its request) or with NULL when
// every item created its request, the common case. Requests, revisions (one per item), task runs
// and log lines are each one statement for the whole batch, in item order; p_task_run_items and
// p_log_items give the item (from 1) of each task run and log line.
// Only when an insert left some request out does it look closer: an item created its request when
// its uuid was inserted now, the row holding its ref is that uuid, and no earlier item is the same
// (uuid, ref); the other items answer the uuid holding their ref, read by a new statement, which
// sees a concurrent creator's row once its insert (which ours waited on) committed. An item whose ref
// nobody holds was refused for its uuid, which another request has: the whole batch is refused.
const CREATE_BATCH = `
  CREATE FUNCTION o3_create_batch(p_requests json, p_revisions json, p_task_runs json,
    p_task_run_items integer[], p_logs json, p_log_items integer[]) RETURNS text[]
  LANGUAGE plpgsql ${KEY_LOOKUPS} AS $$
  DECLARE
    created text[];
    partial boolean := false;
    kept bigint[];
    answers text[];
    clash text;
    expected bigint;
    written text[];
    bad record;
  BEGIN
    WITH w AS (
      ${INSERT_REQUESTS}
      SELECT ${REQUEST_VALUES}
      FROM ROWS FROM (json_to_recordset(p_requests) AS (${REQUEST_FIELDS})) WITH ORDINALITY AS x
      ORDER BY ordinality
      ON CONFLICT DO NOTHING RETURNING requests.uuid)
    SELECT array_agg(uuid) INTO created FROM w;
    IF coalesce(cardinality(created), 0) < json_array_length(p_requests) THEN
      partial := true;
      SELECT array_agg(CASE WHEN y.creator THEN NULL ELSE y.holder END ORDER BY y.item),
          coalesce(array_agg(y.item) FILTER (WHERE y.creator), '{}'),
          (array_agg(y.uuid ORDER BY y.item) FILTER (WHERE y.holder IS NULL))[1]
        INTO answers, kept, clash
        FROM (SELECT j.uuid, j.item, r.uuid AS holder,
                j.uuid = ANY (coalesce(created, '{}')) AND r.uuid = j.uuid
                  AND row_number() OVER (PARTITION BY j.uuid, j.ref ORDER BY j.item) = 1 AS creator
              FROM ROWS FROM (json_to_recordset(p_requests) AS (uuid text, ref text))
                WITH ORDINALITY AS j (uuid, ref, item)
              LEFT JOIN requests r ON r.ref = j.ref) y;
      IF clash IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'O3STL',
          MESSAGE = format('A request with uuid %s already exists under another ref.', clash);
      END IF;
      IF cardinality(kept) = 0 THEN RETURN answers; END IF;
    END IF;

    WITH w AS (
      ${INSERT_REVISIONS}
      SELECT ${REVISION_VALUES}
      FROM ROWS FROM (json_to_recordset(p_revisions) AS (${REVISION_FIELDS})) WITH ORDINALITY AS x
      WHERE NOT partial OR ordinality = ANY (kept)
      ORDER BY ordinality
      ON CONFLICT DO NOTHING RETURNING request_uuid || '/' || revision AS k)
    SELECT array_agg(k) INTO written FROM w;
    expected := CASE WHEN partial THEN cardinality(kept) ELSE json_array_length(p_revisions) END;
    IF coalesce(cardinality(written), 0) < expected THEN
      SELECT format('revision %s of request %s', x.revision, x."requestUuid") AS what, x.version,
          s.version AS stored INTO bad
        FROM ROWS FROM (json_to_recordset(p_revisions) AS ("requestUuid" text, revision integer,
          version integer)) WITH ORDINALITY AS x ("requestUuid", revision, version, item)
        LEFT JOIN revisions s ON s.request_uuid = x."requestUuid" AND s.revision = x.revision
        WHERE (NOT partial OR x.item = ANY (kept))
          AND x."requestUuid" || '/' || x.revision <> ALL (coalesce(written, '{}')) LIMIT 1;
      PERFORM o3_stale(bad.what, bad.version, bad.stored);
    END IF;

    IF p_task_runs IS NOT NULL THEN
      WITH w AS (
        ${INSERT_TASK_RUNS}
        SELECT ${TASK_RUN_VALUES}
        FROM ROWS FROM (json_to_recordset(p_task_runs) AS (${TASK_RUN_FIELDS}), unnest(p_task_run_items))
          WITH ORDINALITY AS x (${names(TASK_RUN_FIELDS)}, item, ordinality)
        WHERE NOT partial OR item = ANY (kept)
        ORDER BY ordinality
        ON CONFLICT DO NOTHING RETURNING task_runs.uuid AS k)
      SELECT array_agg(k) INTO written FROM w;
      expected := CASE WHEN NOT partial THEN json_array_length(p_task_runs)
        ELSE (SELECT count(*) FROM unnest(p_task_run_items) AS i WHERE i = ANY (kept)) END;
      IF coalesce(cardinality(written), 0) < expected THEN
        SELECT 'task run ' || x.uuid AS what, x.version, s.version AS stored INTO bad
          FROM ROWS FROM (json_to_recordset(p_task_runs) AS (uuid text, version integer),
            unnest(p_task_run_items)) AS x (uuid, version, item)
          LEFT JOIN task_runs s ON s.uuid = x.uuid
          WHERE (NOT partial OR x.item = ANY (kept)) AND x.uuid <> ALL (coalesce(written, '{}')) LIMIT 1;
        PERFORM o3_stale(bad.what, bad.version, bad.stored);
      END IF;
    END IF;

    IF p_logs IS NOT NULL THEN
      INSERT INTO logs (request_uuid, task_uuid, ts, level, source, message)
      SELECT "requestUuid", "taskUuid", ts, level, source, message
      FROM ROWS FROM (json_to_recordset(p_logs) AS (${LOG_FIELDS}), unnest(p_log_items))
        WITH ORDINALITY AS x (${names(LOG_FIELDS)}, item, ordinality)
      WHERE NOT partial OR item = ANY (kept)
      ORDER BY ordinality;
    END IF;
    RETURN answers;
  END $$;
`;

// Revisions are saved again when their run ends: room on their page lets that save be a HOT update
// (no new primary-key entry). It applies to pages written from now on.
const REVISIONS_FILLFACTOR = `ALTER TABLE revisions SET (fillfactor = 80);`;

/** Migration `i` takes a schema from version `i` to `i + 1` (as recorded in schema_migrations). */
export const MIGRATIONS: readonly string[] = [
  [
    TABLES,
    STALE,
    SAVE_REQUESTS,
    SAVE_REVISIONS,
    SAVE_TASK_RUNS,
    APPEND_LOGS,
    COMMIT,
    CREATE_REQUEST,
    CREATE_REQUESTS,
  ].join('\n'),
  TEMPLATES,
  [SAVE_CHANGES, CREATE_BATCH, REVISIONS_FILLFACTOR].join('\n'),
];

/**
 * Numbered schema migrations. `meta.schema_version` says which have run; a database whose
 * version is newer than the last one here is refused (store.schemaTooNew) rather than guessed at.
 * Never edit a shipped migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the initial schema
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE sweep (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    name                TEXT NOT NULL,
    spec_path           TEXT NOT NULL,
    spec_text           TEXT NOT NULL,
    spec_hash           TEXT NOT NULL,
    axes                TEXT NOT NULL,          -- JSON array of the swept parameter names
    converged_metric    TEXT NOT NULL,
    converged_threshold REAL NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
  );
  -- Every version of the spec this database has been run with, newest last.
  CREATE TABLE spec_versions (
    id          INTEGER PRIMARY KEY,
    spec_hash   TEXT NOT NULL,
    spec_text   TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    runs_added  INTEGER NOT NULL,
    runs_kept   INTEGER NOT NULL,
    runs_retired INTEGER NOT NULL
  );
  CREATE TABLE runs (
    id                    INTEGER PRIMARY KEY,
    run_key               TEXT NOT NULL UNIQUE,  -- hash of every resolved parameter + seed
    cell_key              TEXT NOT NULL,         -- hash of every resolved parameter
    in_plan               INTEGER NOT NULL DEFAULT 1, -- 0: kept from an earlier version of the spec
    seed                  INTEGER NOT NULL,
    repeat                INTEGER NOT NULL,
    engine                TEXT NOT NULL,
    seq_len               INTEGER NOT NULL,
    n_samples             INTEGER NOT NULL,
    batch_size            INTEGER NOT NULL,
    epochs                INTEGER NOT NULL,
    test_fraction         REAL NOT NULL,
    units                 INTEGER NOT NULL,
    activation            TEXT NOT NULL,
    recurrent_activation  TEXT NOT NULL,
    kernel_initializer    TEXT NOT NULL,
    kernel_gain           REAL NOT NULL,
    recurrent_initializer TEXT NOT NULL,
    recurrent_gain        REAL NOT NULL,
    unit_forget_bias      INTEGER NOT NULL,
    masking               INTEGER NOT NULL,
    output_activation     TEXT NOT NULL,
    optimizer             TEXT NOT NULL,
    learning_rate         REAL NOT NULL,
    beta_1                REAL NOT NULL,
    beta_2                REAL NOT NULL,
    epsilon               REAL NOT NULL,
    loss                  TEXT NOT NULL,
    shuffle               INTEGER NOT NULL,
    params_json           TEXT NOT NULL,
    backend               TEXT,
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'running', 'done', 'failed')),
    outcome               TEXT CHECK (outcome IN ('converged', 'not_converged', 'dead', 'diverged', 'failed', 'timed_out')),
    final_loss            REAL,
    final_mae             REAL,
    final_val_loss        REAL,
    final_val_mae         REAL,
    converged_epoch       INTEGER,
    epochs_run            INTEGER,
    seconds               REAL,
    error                 TEXT,
    attempts              INTEGER NOT NULL DEFAULT 0,
    owner                 TEXT,                  -- process holding the claim while running
    lease_until           REAL,                  -- unix seconds; a claim past it may be reclaimed
    started_at            TEXT,
    finished_at           TEXT
  );
  CREATE INDEX runs_status ON runs (status, in_plan);
  CREATE INDEX runs_cell ON runs (cell_key);
  CREATE TABLE epochs (
    run_id   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch    INTEGER NOT NULL,
    loss     REAL,
    mae      REAL,
    val_loss REAL,
    val_mae  REAL,
    seconds  REAL NOT NULL,
    PRIMARY KEY (run_id, epoch)
  ) WITHOUT ROWID;
  `,
  // 2: what changed between spec versions, for `status`
  `
  ALTER TABLE spec_versions ADD COLUMN changes TEXT NOT NULL DEFAULT '[]'; -- JSON list: "train.epochs: 3 → 4", …
  `,
  // 3: which runner trained a finished run, for the per-runner counts of `status --watch`
  `
  ALTER TABLE runs ADD COLUMN trained_by TEXT; -- owner (host:pid:start) that finished or failed the run
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

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
  // 4: population metrics per epoch, alive-at-init per run, and the outcome dead_at_init.
  // SQLite cannot alter a CHECK, so runs is rebuilt (https://www.sqlite.org/lang_altertable.html#otheralter):
  // ids are copied, indexes recreated; migrate() turns foreign keys off around it, so dropping
  // the old table does not cascade into epochs, and checks them before committing.
  `
  CREATE TABLE runs_v4 (
    id                    INTEGER PRIMARY KEY,
    run_key               TEXT NOT NULL UNIQUE,
    cell_key              TEXT NOT NULL,
    in_plan               INTEGER NOT NULL DEFAULT 1,
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
    -- kept equal to the sweep's current rule (sweep.converged_metric/threshold); NULL: unfinished,
    -- or the run lacks the rule's metric (recorded before population metrics existed)
    outcome               TEXT CHECK (outcome IN ('converged', 'not_converged', 'dead_at_init', 'dead', 'diverged', 'failed', 'timed_out')),
    final_loss            REAL,
    final_mae             REAL,
    final_val_loss        REAL,
    final_val_mae         REAL,
    converged_epoch       INTEGER,
    epochs_run            INTEGER,
    seconds               REAL,
    error                 TEXT,
    attempts              INTEGER NOT NULL DEFAULT 0,
    owner                 TEXT,
    lease_until           REAL,
    started_at            TEXT,
    finished_at           TEXT,
    trained_by            TEXT,                  -- owner (host:pid:start) that finished or failed the run
    alive_at_init         INTEGER,               -- 0: the ReLU output was dead before the first update; NULL: not measured
    final_pop_loss        REAL,                  -- the last epoch's population metrics (also in epochs)
    final_pop_mae         REAL,
    final_unseen_mae      REAL
  );
  INSERT INTO runs_v4 (id, run_key, cell_key, in_plan, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units,
    activation, recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias,
    masking, output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, backend, status,
    outcome, final_loss, final_mae, final_val_loss, final_val_mae, converged_epoch, epochs_run, seconds, error, attempts, owner,
    lease_until, started_at, finished_at, trained_by)
    SELECT id, run_key, cell_key, in_plan, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units,
    activation, recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias,
    masking, output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, backend, status,
    outcome, final_loss, final_mae, final_val_loss, final_val_mae, converged_epoch, epochs_run, seconds, error, attempts, owner,
    lease_until, started_at, finished_at, trained_by FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_v4 RENAME TO runs;
  CREATE INDEX runs_status ON runs (status, in_plan);
  CREATE INDEX runs_cell ON runs (cell_key);
  ALTER TABLE epochs ADD COLUMN pop_loss REAL;        -- over all L+1 rows of the population
  ALTER TABLE epochs ADD COLUMN pop_mae REAL;
  ALTER TABLE epochs ADD COLUMN unseen_mae REAL;      -- over the rows never drawn; NULL when n_samples = seq_len + 1
  ALTER TABLE epochs ADD COLUMN pop_max_output REAL;  -- <= 0: the ReLU output is dead on every input
  `,
  // 5: claiming and progress that cost O(log n) per run, not O(n) (issue 17). A run's cost (its
  // expected seconds, grid/cost.ts) is stored when it is planned, and runs_claim reads the
  // claimable runs in claim order (store/runs.ts claimRuns), so a claim no longer evaluates the
  // cost model on every unfinished run. Runs planned before this get their cost from syncPlan
  // (NULL until then: claimed last). run_tally holds the plan's run counts by status and
  // outcome, kept by triggers, so the progress of every finished run is read without a scan.
  // given_up marks the runs recorded failed by --max-attempts: --retries does not claim them again.
  `
  ALTER TABLE runs ADD COLUMN cost REAL;              -- expected seconds on one worker (grid/cost.ts runCost)
  ALTER TABLE runs ADD COLUMN given_up INTEGER;       -- 1: recorded failed by --max-attempts (its process vanished each time)
  UPDATE runs SET given_up = 1 WHERE status = 'failed' AND error LIKE 'killed its worker %';
  CREATE INDEX runs_claim ON runs ((status = 'failed'), cost DESC, id) WHERE in_plan = 1 AND status <> 'done';
  CREATE INDEX runs_finished ON runs (finished_at) WHERE in_plan = 1 AND status = 'done';
  CREATE TABLE run_tally (
    status  TEXT NOT NULL,
    outcome TEXT NOT NULL,                            -- '' for NULL
    n       INTEGER NOT NULL,
    PRIMARY KEY (status, outcome)
  ) WITHOUT ROWID;
  INSERT INTO run_tally (status, outcome, n) SELECT status, coalesce(outcome, ''), count(*) FROM runs WHERE in_plan = 1 GROUP BY 1, 2;
  CREATE TRIGGER run_tally_insert AFTER INSERT ON runs WHEN new.in_plan = 1 BEGIN
    INSERT INTO run_tally (status, outcome, n) VALUES (new.status, coalesce(new.outcome, ''), 1)
      ON CONFLICT (status, outcome) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER run_tally_delete AFTER DELETE ON runs WHEN old.in_plan = 1 BEGIN
    UPDATE run_tally SET n = n - 1 WHERE status = old.status AND outcome = coalesce(old.outcome, '');
  END;
  CREATE TRIGGER run_tally_update AFTER UPDATE OF status, outcome, in_plan ON runs
    WHEN old.in_plan IS NOT new.in_plan OR old.status IS NOT new.status OR old.outcome IS NOT new.outcome BEGIN
    UPDATE run_tally SET n = n - 1 WHERE old.in_plan = 1 AND status = old.status AND outcome = coalesce(old.outcome, '');
    INSERT INTO run_tally (status, outcome, n) SELECT new.status, coalesce(new.outcome, ''), 1 WHERE new.in_plan = 1
      ON CONFLICT (status, outcome) DO UPDATE SET n = n + 1;
  END;
  `,
  // 6: the user's own trainers (issue 18). A module or command trainer has none of the built-in
  // parameter columns (its declared parameters are params_json) and reports metrics by name, so
  // runs is rebuilt as in migration 4 with those columns NULLable and the outcome no_metric,
  // and the metrics of user runs are rows (epoch_metrics, run_metrics), as Optuna keeps
  // trial_intermediate_values. Built-in runs are written exactly as before. The views give a
  // plain sqlite3 user one shape for any trainer.
  `
  CREATE TABLE runs_v6 (
    id                    INTEGER PRIMARY KEY,
    run_key               TEXT NOT NULL UNIQUE,
    cell_key              TEXT NOT NULL,
    in_plan               INTEGER NOT NULL DEFAULT 1,
    seed                  INTEGER NOT NULL,
    repeat                INTEGER NOT NULL,
    -- the built-in LSTM's parameters; NULL for a module or command trainer (its parameters: params_json)
    engine                TEXT,
    seq_len               INTEGER,
    n_samples             INTEGER,
    batch_size            INTEGER,
    epochs                INTEGER,
    test_fraction         REAL,
    units                 INTEGER,
    activation            TEXT,
    recurrent_activation  TEXT,
    kernel_initializer    TEXT,
    kernel_gain           REAL,
    recurrent_initializer TEXT,
    recurrent_gain        REAL,
    unit_forget_bias      INTEGER,
    masking               INTEGER,
    output_activation     TEXT,
    optimizer             TEXT,
    learning_rate         REAL,
    beta_1                REAL,
    beta_2                REAL,
    epsilon               REAL,
    loss                  TEXT,
    shuffle               INTEGER,
    params_json           TEXT NOT NULL,
    backend               TEXT,
    status                TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'running', 'done', 'failed')),
    outcome               TEXT CHECK (outcome IN ('converged', 'not_converged', 'dead_at_init', 'dead', 'diverged', 'no_metric', 'failed', 'timed_out')),
    final_loss            REAL,
    final_mae             REAL,
    final_val_loss        REAL,
    final_val_mae         REAL,
    converged_epoch       INTEGER,
    epochs_run            INTEGER,
    seconds               REAL,
    error                 TEXT,
    attempts              INTEGER NOT NULL DEFAULT 0,
    owner                 TEXT,
    lease_until           REAL,
    started_at            TEXT,
    finished_at           TEXT,
    trained_by            TEXT,
    alive_at_init         INTEGER,
    final_pop_loss        REAL,
    final_pop_mae         REAL,
    final_unseen_mae      REAL,
    cost                  REAL,
    given_up              INTEGER,
    trainer               TEXT NOT NULL DEFAULT 'builtin' CHECK (trainer IN ('builtin', 'module', 'command')),
    code_hash             TEXT,                  -- sha256 (shortened) of the module file or the command's script
    command_line          TEXT,                  -- the module path, or the expanded command line
    device                TEXT,                  -- --devices: the device the run trained on
    log_path              TEXT,                  -- the whole output (capped) of a command run, beside the database
    output_tail           TEXT,                  -- the last few KB of its stdout and stderr
    process_json          TEXT                   -- the process group of a command run in flight (orphan cleanup); NULL after
  );
  INSERT INTO runs_v6 (id, run_key, cell_key, in_plan, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units,
    activation, recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias,
    masking, output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, backend, status,
    outcome, final_loss, final_mae, final_val_loss, final_val_mae, converged_epoch, epochs_run, seconds, error, attempts, owner,
    lease_until, started_at, finished_at, trained_by, alive_at_init, final_pop_loss, final_pop_mae, final_unseen_mae, cost, given_up)
    SELECT id, run_key, cell_key, in_plan, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units,
    activation, recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias,
    masking, output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, backend, status,
    outcome, final_loss, final_mae, final_val_loss, final_val_mae, converged_epoch, epochs_run, seconds, error, attempts, owner,
    lease_until, started_at, finished_at, trained_by, alive_at_init, final_pop_loss, final_pop_mae, final_unseen_mae, cost, given_up FROM runs;
  DROP TABLE runs;
  ALTER TABLE runs_v6 RENAME TO runs;
  CREATE INDEX runs_status ON runs (status, in_plan);
  CREATE INDEX runs_cell ON runs (cell_key);
  CREATE INDEX runs_claim ON runs ((status = 'failed'), cost DESC, id) WHERE in_plan = 1 AND status <> 'done';
  CREATE INDEX runs_finished ON runs (finished_at) WHERE in_plan = 1 AND status = 'done';
  CREATE TRIGGER run_tally_insert AFTER INSERT ON runs WHEN new.in_plan = 1 BEGIN
    INSERT INTO run_tally (status, outcome, n) VALUES (new.status, coalesce(new.outcome, ''), 1)
      ON CONFLICT (status, outcome) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER run_tally_delete AFTER DELETE ON runs WHEN old.in_plan = 1 BEGIN
    UPDATE run_tally SET n = n - 1 WHERE status = old.status AND outcome = coalesce(old.outcome, '');
  END;
  CREATE TRIGGER run_tally_update AFTER UPDATE OF status, outcome, in_plan ON runs
    WHEN old.in_plan IS NOT new.in_plan OR old.status IS NOT new.status OR old.outcome IS NOT new.outcome BEGIN
    UPDATE run_tally SET n = n - 1 WHERE old.in_plan = 1 AND status = old.status AND outcome = coalesce(old.outcome, '');
    INSERT INTO run_tally (status, outcome, n) SELECT new.status, coalesce(new.outcome, ''), 1 WHERE new.in_plan = 1
      ON CONFLICT (status, outcome) DO UPDATE SET n = n + 1;
  END;
  -- A rule now has a direction and an epoch (below/above, last/best); NULL: below, last.
  ALTER TABLE sweep ADD COLUMN converged_direction TEXT;
  ALTER TABLE sweep ADD COLUMN converged_at TEXT;
  -- A user trainer's epochs: every metric it reported, by name (NULL: reported NaN/Inf). Each such
  -- epoch also has its epochs row (epoch, seconds), so counts and the life cycle stay one query.
  CREATE TABLE epoch_metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch  INTEGER NOT NULL,
    name   TEXT NOT NULL,
    value  REAL,
    PRIMARY KEY (run_id, name, epoch)
  ) WITHOUT ROWID;
  -- A finished user run's metrics: the last and the best value of each (best: lowest, or highest
  -- for a metric the trainer says is better above), written with the run's outcome.
  CREATE TABLE run_metrics (
    run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    final      REAL,
    best       REAL,
    best_epoch INTEGER,
    PRIMARY KEY (run_id, name)
  ) WITHOUT ROWID;
  CREATE VIEW metric_values (run_id, epoch, name, value) AS
    SELECT e.run_id, e.epoch, m.name, CASE m.name
        WHEN 'loss' THEN e.loss WHEN 'mae' THEN e.mae WHEN 'val_loss' THEN e.val_loss WHEN 'val_mae' THEN e.val_mae
        WHEN 'pop_loss' THEN e.pop_loss WHEN 'pop_mae' THEN e.pop_mae WHEN 'unseen_mae' THEN e.unseen_mae
        WHEN 'pop_max_output' THEN e.pop_max_output END
      FROM epochs e JOIN runs r ON r.id = e.run_id AND r.trainer = 'builtin'
      CROSS JOIN (SELECT 'loss' AS name UNION ALL SELECT 'mae' UNION ALL SELECT 'val_loss' UNION ALL SELECT 'val_mae'
        UNION ALL SELECT 'pop_loss' UNION ALL SELECT 'pop_mae' UNION ALL SELECT 'unseen_mae' UNION ALL SELECT 'pop_max_output') m
    UNION ALL
    SELECT run_id, epoch, name, value FROM epoch_metrics;
  CREATE VIEW final_metrics (run_id, name, value) AS
    SELECT r.id, m.name, CASE m.name
        WHEN 'loss' THEN r.final_loss WHEN 'mae' THEN r.final_mae WHEN 'val_loss' THEN r.final_val_loss WHEN 'val_mae' THEN r.final_val_mae
        WHEN 'pop_loss' THEN r.final_pop_loss WHEN 'pop_mae' THEN r.final_pop_mae WHEN 'unseen_mae' THEN r.final_unseen_mae END
      FROM runs r CROSS JOIN (SELECT 'loss' AS name UNION ALL SELECT 'mae' UNION ALL SELECT 'val_loss' UNION ALL SELECT 'val_mae'
        UNION ALL SELECT 'pop_loss' UNION ALL SELECT 'pop_mae' UNION ALL SELECT 'unseen_mae') m
      WHERE r.trainer = 'builtin' AND r.status = 'done'
    UNION ALL
    SELECT run_id, name, final FROM run_metrics;
  CREATE VIEW run_params (run_id, name, value) AS
    SELECT r.id, j.key, j.value FROM runs r, json_each(r.params_json) j;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

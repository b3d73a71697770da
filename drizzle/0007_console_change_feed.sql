-- The console keeps what it reads on nearly every request (sessions with their users, a run's
-- live part, the runs list, unread counts) in memory, and forgets it when the channel
-- `console_changes` says it changed (src/db/changeFeed.ts). A payload is the table, or
-- `table:key` with the key of the rows that changed; PostgreSQL sends it at commit, and
-- folds a transaction's identical payloads into one.
CREATE FUNCTION notify_console_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_NARGS = 0 THEN
    PERFORM pg_notify('console_changes', TG_TABLE_NAME);
    RETURN NULL;
  END IF;
  -- TG_ARGV[0] names the column that keys the rows (a run's id, an operator's id).
  IF TG_OP <> 'INSERT' THEN
    PERFORM pg_notify('console_changes', TG_TABLE_NAME || ':' || (to_jsonb(OLD) ->> TG_ARGV[0]));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM pg_notify('console_changes', TG_TABLE_NAME || ':' || (to_jsonb(NEW) ->> TG_ARGV[0]));
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- A session is revoked by sign-out (DELETE), expiry and touches (UPDATE), or a change of its
-- user or tenant; a new session changes no cached one. One payload per statement: the console
-- forgets every session it holds.
CREATE TRIGGER sessions_console_change AFTER UPDATE OR DELETE OR TRUNCATE ON sessions
  FOR EACH STATEMENT EXECUTE FUNCTION notify_console_change();
--> statement-breakpoint
CREATE TRIGGER platform_users_console_change AFTER UPDATE OR DELETE OR TRUNCATE ON platform_users
  FOR EACH STATEMENT EXECUTE FUNCTION notify_console_change();
--> statement-breakpoint
CREATE TRIGGER users_console_change AFTER UPDATE OR DELETE OR TRUNCATE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION notify_console_change();
--> statement-breakpoint
CREATE TRIGGER tenants_console_change AFTER UPDATE OR DELETE OR TRUNCATE ON tenants
  FOR EACH STATEMENT EXECUTE FUNCTION notify_console_change();
--> statement-breakpoint
-- Runs and their items name the run, so a run's poll forgets only that run.
CREATE TRIGGER operation_runs_console_change AFTER INSERT OR UPDATE OR DELETE ON operation_runs
  FOR EACH ROW EXECUTE FUNCTION notify_console_change('id');
--> statement-breakpoint
CREATE TRIGGER operation_run_items_console_change AFTER INSERT OR UPDATE OR DELETE ON operation_run_items
  FOR EACH ROW EXECUTE FUNCTION notify_console_change('run_id');
--> statement-breakpoint
CREATE TRIGGER notifications_console_change AFTER INSERT OR UPDATE OR DELETE ON notifications
  FOR EACH ROW EXECUTE FUNCTION notify_console_change('platform_user_id');

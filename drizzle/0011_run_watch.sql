-- What a run page shows at a glance: its working time apart from its paused time, a cancel
-- asked for (cancelling), and the parallelism and batch size it goes on with.
ALTER TABLE "operation_runs" ADD COLUMN "paused_ms" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "cancel_requested_at" timestamp (6) with time zone;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "settings" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- A run page shows its audit trail live: an audited action on a run (a pause, a tune) makes
-- the run's poll read again, keyed like the run's own changes.
CREATE TRIGGER audit_events_console_change AFTER INSERT ON audit_events
  FOR EACH ROW WHEN (NEW.target_kind = 'operation_run')
  EXECUTE FUNCTION notify_console_change('target_id');

-- Database health gates: since when a gate holds a run and why, and the time held before.
ALTER TABLE "operation_runs" ADD COLUMN "held_since" timestamp (6) with time zone;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "held_reason" text;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "held_ms" bigint DEFAULT 0 NOT NULL;
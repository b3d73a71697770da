ALTER TABLE "operation_runs" ADD COLUMN "paused_at" timestamp (6) with time zone;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "paused_by" text;
ALTER TABLE "operation_runs" ADD COLUMN "parameters" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "as_of" timestamp (6) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "preflights" ADD COLUMN "parameters" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "preflights" ADD COLUMN "as_of" timestamp (6) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
-- Rows from before parameters: their instant is when they were made.
UPDATE "preflights" SET "as_of" = "created_at";--> statement-breakpoint
UPDATE "operation_runs" SET "as_of" = "created_at";

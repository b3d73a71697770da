ALTER TABLE "operation_runs" ADD COLUMN "pause_reason" text;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "guards" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "retry_of" uuid;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD CONSTRAINT "operation_runs_retry_of_operation_runs_id_fk" FOREIGN KEY ("retry_of") REFERENCES "public"."operation_runs"("id") ON DELETE no action ON UPDATE no action;
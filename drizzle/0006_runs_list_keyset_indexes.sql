DROP INDEX "operation_runs_created_at_idx";--> statement-breakpoint
CREATE INDEX "operation_runs_list_idx" ON "operation_runs" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "operation_runs_active_list_idx" ON "operation_runs" USING btree ("created_at","id") WHERE "operation_runs"."status" <> 'completed';
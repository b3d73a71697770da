CREATE TABLE "tenant_finding_stats" (
	"tenant_id" bigint PRIMARY KEY NOT NULL,
	"open_critical" integer NOT NULL,
	"open_high" integer NOT NULL,
	"open_medium" integer NOT NULL,
	"open_low" integer NOT NULL,
	"overdue" integer NOT NULL,
	"resolved_30d" integer NOT NULL,
	"mean_time_to_resolve_seconds" numeric,
	"computed_at" timestamp (6) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "finding_events" ADD COLUMN "note" text;--> statement-breakpoint
ALTER TABLE "tenant_finding_stats" ADD CONSTRAINT "tenant_finding_stats_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;
CREATE TABLE "preflight_tenants" (
	"preflight_id" uuid NOT NULL,
	"tenant_id" bigint NOT NULL,
	"to_change" integer NOT NULL,
	"fingerprint" jsonb NOT NULL,
	CONSTRAINT "preflight_tenants_preflight_id_tenant_id_pk" PRIMARY KEY("preflight_id","tenant_id")
);
--> statement-breakpoint
ALTER TABLE "preflight_tenants" ADD CONSTRAINT "preflight_tenants_preflight_id_preflights_id_fk" FOREIGN KEY ("preflight_id") REFERENCES "public"."preflights"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "finding_detections_tenant_id_id_idx" ON "finding_detections" USING btree ("tenant_id","id");--> statement-breakpoint
CREATE INDEX "finding_events_tenant_id_id_idx" ON "finding_events" USING btree ("tenant_id","id");
CREATE TABLE "run_stops" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "run_stops_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"reason" text NOT NULL,
	"stopped_by_label" text NOT NULL,
	"stopped_by_platform_user_id" bigint,
	"run_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"lifted_at" timestamp (6) with time zone,
	"lifted_by_label" text,
	"lift_reason" text
);
--> statement-breakpoint
ALTER TABLE "run_stops" ADD CONSTRAINT "run_stops_stopped_by_platform_user_id_platform_users_id_fk" FOREIGN KEY ("stopped_by_platform_user_id") REFERENCES "public"."platform_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "run_stops_one_active" ON "run_stops" USING btree ((true)) WHERE "run_stops"."lifted_at" is null;
-- Change windows (#24): when runs may work; a run waiting for one says when it opens.
CREATE TABLE "change_windows" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "change_windows_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"kind" text NOT NULL,
	"schedule" text NOT NULL,
	"duration_minutes" integer NOT NULL,
	"time_zone" text NOT NULL,
	"cutoff_minutes" integer DEFAULT 0 NOT NULL,
	"runbooks" text[],
	"description" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "window_opens_at" timestamp (6) with time zone;
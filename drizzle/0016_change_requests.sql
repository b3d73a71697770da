-- Change requests (#24): a start the approval policy holds, its approvers' decisions, and the run it became.
CREATE TABLE "change_approvals" (
	"request_id" uuid NOT NULL,
	"platform_user_id" bigint NOT NULL,
	"label" text NOT NULL,
	"decision" text NOT NULL,
	"comment" text NOT NULL,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "change_approvals_request_id_platform_user_id_pk" PRIMARY KEY("request_id","platform_user_id")
);
--> statement-breakpoint
CREATE TABLE "change_requests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"runbook" text NOT NULL,
	"scope_kind" text NOT NULL,
	"scope" jsonb NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"preflight_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"guards" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"requester_platform_user_id" bigint,
	"requester_label" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"approvals_required" integer NOT NULL,
	"expires_at" timestamp (6) with time zone NOT NULL,
	"run_id" uuid,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"decided_at" timestamp (6) with time zone,
	"source" text NOT NULL,
	"idempotency_key" text,
	"start" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "change_requests_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "change_request_id" uuid;--> statement-breakpoint
ALTER TABLE "operation_runs" ADD COLUMN "approved_by" text[];--> statement-breakpoint
ALTER TABLE "change_approvals" ADD CONSTRAINT "change_approvals_request_id_change_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."change_requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_approvals" ADD CONSTRAINT "change_approvals_platform_user_id_platform_users_id_fk" FOREIGN KEY ("platform_user_id") REFERENCES "public"."platform_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_requests" ADD CONSTRAINT "change_requests_preflight_id_preflights_id_fk" FOREIGN KEY ("preflight_id") REFERENCES "public"."preflights"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_requests" ADD CONSTRAINT "change_requests_requester_platform_user_id_platform_users_id_fk" FOREIGN KEY ("requester_platform_user_id") REFERENCES "public"."platform_users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "change_requests" ADD CONSTRAINT "change_requests_run_id_operation_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."operation_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "change_requests_list_idx" ON "change_requests" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "change_requests_open_idx" ON "change_requests" USING btree ("status");
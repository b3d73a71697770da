-- Idempotency keys live in their maker's namespace (src/runbooks/idempotencyKeys.ts): "<maker> <key>",
-- except the deploy hook's, kept as given. Keys have no spaces, so the stored forms never meet.
UPDATE operation_runs
   SET idempotency_key = CASE
         WHEN initiator_platform_user_id IS NOT NULL THEN 'operator:' || initiator_platform_user_id || ' ' || idempotency_key
         WHEN source = 'cli' THEN initiator_label || ' ' || idempotency_key
         WHEN source = 'admin_trigger' THEN 'tenant:' || (scope -> 'tenants' -> 0 ->> 'externalId') || ' ' || idempotency_key
       END
 WHERE idempotency_key IS NOT NULL
   AND source <> 'deploy_hook'
   AND position(' ' IN idempotency_key) = 0
   AND (initiator_platform_user_id IS NOT NULL OR source IN ('cli', 'admin_trigger'));

import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { CAPABILITIES, requireCapability } from '../../../../runbooks/capabilities.js';
import type { RunbookDefinition } from '../../../../runbooks/definition.js';
import { loadPreflight, runPreflight } from '../../../../runbooks/preflight.js';
import { failedTenantsOf } from '../../../../runbooks/retryFailed.js';
import { RunbookRefusal } from '../../../../runbooks/refusal.js';
import { RUNBOOKS } from '../../../../runbooks/registry.js';
import type { ScopeInput } from '../../../../runbooks/scope.js';
import { startRunbook } from '../../../../runbooks/start.js';
import { DEFAULT_PREFLIGHT_POLICY } from '../../../../runbooks/checkPreflight.js';
import { findOverlappingRun, overlapRefusal } from '../../../../runbooks/overlap.js';
import { tenantNamesOf } from '../../../../runbooks/tenantNames.js';
import { runbookWindowState } from '../../../../runbooks/windows/runWindows.js';
import { sendNotice } from '../runs/notice.js';
import { IDEMPOTENCY_KEY_MAX } from '../../../../runbooks/validateStart.js';
import type { GuardsInput } from '../../../../runbooks/model.js';
import { NotFoundError } from '../../../httpErrors.js';
import { initiatorOf } from '../../../plugins/app/auth.js';
import { resultView, type ConfirmFields, type GuardFields, type ResultView, type ScopeFields } from './views.js';
import { CSRF_FIELD, NO_QUERY, PLAIN_TEXT, RUN_ID } from '../../../schemas.js';
import {
  hiddenParameters,
  inputOfParameters,
  PARAMETER_FIELDS_SCHEMA,
  parameterFieldsView,
  parameterInputOf,
  type ParameterInput,
} from './parameterFields.js';
import { ParameterRefusal, parameterFields } from '../../../../runbooks/parameters.js';

/**
 * Form fields are optional here: a missing one reaches the core, which refuses it in words
 * (no tenant, no reason, no preflight); the schema only bounds what is sent.
 */
const scopeFields = {
  ...CSRF_FIELD,
  scope: { type: 'string', enum: ['tenant', 'all_tenants'] },
  tenant: { type: 'string', maxLength: 200, pattern: PLAIN_TEXT },
  // A retry of a run's failed tenants: the scope is those tenants, whatever else is sent.
  retryOf: {
    anyOf: [RUN_ID, { type: 'string', maxLength: 0 }],
  },
} as const;

// Guard numbers arrive as form text; the core refuses values out of range in its words.
const numberText = { type: 'string', maxLength: 12, pattern: '^\\s*[0-9]*\\s*$' } as const;

// A new preflight asked for from a refused start carries what was typed into its confirmation.
const typedFields = {
  reason: { type: 'string', maxLength: 4000 },
  confirmation: { type: 'string', maxLength: 100, pattern: PLAIN_TEXT },
  maxFailedTenants: numberText,
  maxFailedPercent: numberText,
  canary: { type: 'string', enum: ['on'] },
  canaryCount: numberText,
  canaryTenants: { type: 'string', maxLength: 2000, pattern: PLAIN_TEXT },
} as const;

const preflightBody = {
  type: 'object',
  properties: { ...scopeFields, ...typedFields },
  patternProperties: PARAMETER_FIELDS_SCHEMA,
  additionalProperties: false,
} as const;

const startBody = {
  type: 'object',
  properties: {
    ...scopeFields,
    preflightId: { type: 'string', maxLength: 100, pattern: PLAIN_TEXT },
    idempotencyKey: { type: 'string', maxLength: IDEMPOTENCY_KEY_MAX, pattern: PLAIN_TEXT },
    // The reason is longer than the core allows, so that a reason a little too long gets the core's message by the field.
    ...typedFields,
  },
  patternProperties: PARAMETER_FIELDS_SCHEMA,
  additionalProperties: false,
} as const;

// Any runbook id's shape: an unknown one is a 404 after the access rules, like an unknown run.
const runbookParams = {
  type: 'object',
  required: ['runbook'],
  properties: { runbook: { type: 'string', maxLength: 100 } },
} as const;

interface ScopeBody {
  scope?: ScopeFields['scope'];
  tenant?: string;
  retryOf?: string;
}

interface StartBody extends ScopeBody, Partial<GuardFields> {
  preflightId?: string;
  idempotencyKey?: string;
  reason?: string;
  confirmation?: string;
}

type RunbookRequest<Body> = FastifyRequest<{ Params: { runbook: string }; Body: Body }>;

function runbookOf(id: string): RunbookDefinition {
  const runbook = RUNBOOKS.find((candidate) => candidate.id === id);
  if (!runbook) throw new NotFoundError();
  return runbook;
}

/** A refusal of parameters in the form's words: by each field's label. */
function labelledRefusal(runbook: RunbookDefinition, refusal: ParameterRefusal): RunbookRefusal {
  const labels = new Map(parameterFields(runbook.parameters).map((field) => [field.name, field.label]));
  const message = Object.entries(refusal.problems)
    .map(([name, problem]) => `${labels.get(name) ?? name} ${problem}`)
    .join('; ');
  return new RunbookRefusal('invalid_parameters', `Check the parameters: ${message}.`);
}

function scopeFieldsOf(body: ScopeBody): ScopeFields {
  return { scope: body.scope ?? 'tenant', tenant: body.tenant ?? '', retryOf: body.retryOf ?? '' };
}

function guardFieldsOf(body: Partial<GuardFields>): GuardFields {
  const trimmed = (value: string | undefined, fallback: string) => value?.trim() ?? fallback;
  return {
    maxFailedTenants: trimmed(body.maxFailedTenants, ''),
    maxFailedPercent: trimmed(body.maxFailedPercent, ''),
    canary: body.canary ?? '',
    canaryCount: trimmed(body.canaryCount, '') || '1',
    canaryTenants: trimmed(body.canaryTenants, ''),
  };
}

/** The guards as the core takes them; empty fields mean none. */
function guardsInputOf(fields: GuardFields): GuardsInput {
  const whole = (text: string) => (text === '' ? undefined : Number(text));
  const named = fields.canaryTenants
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  return {
    maxFailedTenants: whole(fields.maxFailedTenants),
    maxFailedPercent: whole(fields.maxFailedPercent),
    canary:
      fields.canary === 'on' ? (named.length ? { tenants: named } : { count: whole(fields.canaryCount) }) : undefined,
  };
}

/**
 * `GET /system/ops/runbooks` (each runbook with its scope form), and per runbook the
 * preflight → confirm → start flow: `POST .../:runbook/preflight` renders the report and the
 * confirmation step in place; `POST .../:runbook/start` hands it to the one starter and
 * redirects to the run. Both work as plain forms; htmx swaps only the runbook's result.
 */
export const runbooksRoutes: FastifyPluginAsync = async (app) => {
  const { pool } = app.deps.database;
  /** When a run of the runbook started now would begin, under the change windows as they are now. */
  const windowOf = (runbook: RunbookDefinition) => runbookWindowState(pool, runbook.id, app.deps.config.windowMinuteMs);

  /** The scope the fields name; for a retry, exactly the failed tenants of that run of this runbook. */
  const scopeInputOf = async (runbook: RunbookDefinition, fields: ScopeFields): Promise<ScopeInput> => {
    if (fields.retryOf) {
      const { run, scope } = await failedTenantsOf(pool, fields.retryOf);
      if (run.runbook !== runbook.id)
        throw new RunbookRefusal(
          'nothing_to_retry',
          `Run ${run.id} is a run of another runbook; retry it from its own runbook.`,
        );
      return scope;
    }
    return fields.scope === 'all_tenants' ? { kind: 'all_tenants' } : { kind: 'tenants', externalIds: [fields.tenant] };
  };

  /** The parameters of a start: for a retry, those of the retried run; otherwise as the form sent them. */
  const parametersOf = async (runbook: RunbookDefinition, fields: ScopeFields, input: ParameterInput) =>
    fields.retryOf ? (await failedTenantsOf(pool, fields.retryOf)).run.parameters : input;

  /**
   * The page, with one runbook's result (and the scope it was asked for) filled in; the other
   * runbooks' scope is one tenant, `tenant` (a tenant search's link) or none yet.
   */
  const page = (
    request: FastifyRequest,
    reply: FastifyReply,
    active?: {
      runbookId: string;
      scope: ScopeFields;
      parameters: ParameterInput;
      problems: Record<string, string>;
      result: ResultView;
    },
    tenant = '',
  ) => ({
    view: 'system/runbooks',
    model: {
      canRun: request.can(CAPABILITIES.runbooksRun),
      csrfToken: reply.generateCsrf(),
      runbooks: RUNBOOKS.map((runbook, index) => ({
        id: runbook.id,
        index,
        title: runbook.title,
        description: runbook.description,
        unit: runbook.unit,
        parameters:
          active?.runbookId === runbook.id
            ? parameterFieldsView(runbook, active.parameters, active.problems)
            : parameterFieldsView(runbook, {}),
        scope: active?.runbookId === runbook.id ? active.scope : { scope: 'tenant', tenant, retryOf: '' },
        result: active?.runbookId === runbook.id ? active.result : null,
      })),
    },
  });

  const renderResult = (
    request: RunbookRequest<unknown>,
    reply: FastifyReply,
    runbook: RunbookDefinition,
    result: Omit<Parameters<typeof resultView>[0], 'runbookId' | 'csrfToken' | 'refusal' | 'parameters'> & {
      parameters: ParameterInput;
      refusal: RunbookRefusal | null;
    },
    status: number,
  ) => {
    // Parameter problems by field: beside their inputs on a whole page, in words by label in the result.
    const problems = result.refusal instanceof ParameterRefusal ? result.refusal.problems : {};
    const refusal =
      result.refusal instanceof ParameterRefusal ? labelledRefusal(runbook, result.refusal) : result.refusal;
    const model = resultView({
      ...result,
      refusal,
      parameters: hiddenParameters(result.parameters),
      runbookId: request.params.runbook,
      csrfToken: reply.generateCsrf(),
    });
    return reply.pageOrPartial(
      { view: 'partials/runbooks/result', model: { ...model, oob: true } },
      () =>
        page(request, reply, {
          runbookId: request.params.runbook,
          scope: result.scope,
          parameters: result.parameters,
          problems,
          result: model,
        }),
      { title: 'Runbooks', status },
    );
  };

  // `tenant`: the scope to fill in, as the tenant search links it; bounded like the form's field.
  const pageQuery = {
    type: 'object',
    properties: { tenant: scopeFields.tenant },
    additionalProperties: false,
  } as const;

  app.get<{ Querystring: { tenant?: string } }>(
    '/system/ops/runbooks',
    { schema: { querystring: pageQuery }, config: { capability: CAPABILITIES.runbooksView } },
    async (request, reply) => {
      const whole = page(request, reply, undefined, request.query.tenant?.trim());
      return reply.page(whole.view, whole.model, { title: 'Runbooks' });
    },
  );

  app.post<{ Params: { runbook: string }; Body: StartBody }>(
    '/system/ops/runbooks/:runbook/preflight',
    {
      schema: { params: runbookParams, querystring: NO_QUERY, body: preflightBody },
      config: { capability: CAPABILITIES.runbooksRun },
    },
    async (request, reply) => {
      const runbook = runbookOf(request.params.runbook);
      const scope = scopeFieldsOf(request.body ?? {});
      let parameters = parameterInputOf(request.body ?? {});
      const { initiator, context } = initiatorOf(request);
      try {
        // The starter refuses an all-tenants start without this capability; refused here too,
        // before a preflight of every tenant is spent on a start that cannot happen.
        if (scope.scope === 'all_tenants' && !scope.retryOf)
          requireCapability(initiator, CAPABILITIES.runbooksRunAllTenants, 'start an all-tenants run');
        const preflight = await runPreflight(pool, {
          runbook,
          scope: await scopeInputOf(runbook, scope),
          parameters: await parametersOf(runbook, scope, parameters),
          initiator,
          context,
        });
        // The confirmation carries what the preflight was computed for, canonical.
        parameters = inputOfParameters(preflight.parameters);
        // Minted with the form: a double submit of this confirmation replays one start.
        const body = request.body ?? {};
        const confirm: ConfirmFields = {
          preflightId: preflight.id,
          idempotencyKey: randomUUID(),
          reason: body.reason ?? '',
          confirmation: body.confirmation ?? '',
          guards: guardFieldsOf(body),
        };
        const [holder, tenantNames, window] = await Promise.all([
          findOverlappingRun(pool, runbook, preflight.scope),
          tenantNamesOf(
            pool,
            preflight.report.topTenants.map((tenant) => tenant.externalId),
          ),
          windowOf(runbook),
        ]);
        const outlook = {
          holder: holder && { id: holder.id, message: overlapRefusal(holder, runbook).message },
          validUntil: new Date(preflight.createdAt.getTime() + DEFAULT_PREFLIGHT_POLICY.maxAgeMs),
          window,
        };
        return renderResult(
          request,
          reply,
          runbook,
          { scope, parameters, report: preflight.report, confirm, refusal: null, outlook, tenantNames },
          200,
        );
      } catch (error) {
        if (!(error instanceof RunbookRefusal)) throw error;
        return renderResult(
          request,
          reply,
          runbook,
          { scope, parameters, report: null, confirm: null, refusal: error },
          422,
        );
      }
    },
  );

  app.post<{ Params: { runbook: string }; Body: StartBody }>(
    '/system/ops/runbooks/:runbook/start',
    {
      schema: { params: runbookParams, querystring: NO_QUERY, body: startBody },
      config: { capability: CAPABILITIES.runbooksRun },
    },
    async (request, reply) => {
      const runbook = runbookOf(request.params.runbook);
      const body = request.body ?? {};
      const scope = scopeFieldsOf(body);
      const parameters = parameterInputOf(body);
      const confirm: ConfirmFields = {
        preflightId: body.preflightId ?? '',
        idempotencyKey: body.idempotencyKey ?? '',
        reason: body.reason ?? '',
        confirmation: body.confirmation ?? '',
        guards: guardFieldsOf(body),
      };
      const { initiator, context } = initiatorOf(request);
      try {
        const started = await startRunbook(
          { pool, launcher: app.launcher, approvals: app.deps.config.approvals },
          {
            runbook: runbook.id,
            scope: await scopeInputOf(runbook, scope),
            parameters: await parametersOf(runbook, scope, parameters),
            initiator,
            context,
            reason: confirm.reason,
            source: 'system_ui',
            idempotencyKey: confirm.idempotencyKey || null,
            confirmation: confirm.confirmation || null,
            preflightId: confirm.preflightId || null,
            guards: guardsInputOf(confirm.guards),
            retryOf: scope.retryOf || null,
          },
        );
        if ('changeRequest' in started) return reply.seeOther(`/system/ops/changes/${started.changeRequest.id}`);
        const { run } = started;
        sendNotice(reply, run.id, 'started', app.deps.config.cookieSecure);
        return reply.seeOther(`/system/ops/runs/${run.id}`);
      } catch (error) {
        if (!(error instanceof RunbookRefusal)) throw error;
        // The report the operator confirmed, shown again with what to fix.
        const preflight = confirm.preflightId ? await loadPreflight(pool, confirm.preflightId) : null;
        const report = preflight?.runbook === runbook.id ? preflight.report : null;
        // The confirmation shown again says again when a start would begin.
        const outlook = report ? { holder: null, validUntil: null, window: await windowOf(runbook) } : undefined;
        return renderResult(
          request,
          reply,
          runbook,
          { scope, parameters, report, confirm, refusal: error, outlook },
          422,
        );
      }
    },
  );
};

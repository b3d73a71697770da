import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import { asConnectionError } from '../../../db/connectionError.js';
import { UnavailableError } from '../../../errors.js';
import { isTransientError } from '../../../transient.js';
import { HttpError, NotFoundError, TooManyRequestsError } from '../../httpErrors.js';
import { RUN_ID } from '../../schemas.js';
import { signedOutChrome, startPageOf } from './views.js';

/** A refusal a route may want to record (the sign-in form audits both). */
export type Refusal = 'csrf' | 'throttled';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The signed-out error page of an error the router raises before any hook or decorator of
     * the app applies (`%ZZ` in the path, an over-long id): for Fastify's `frameworkErrors`.
     */
    routerErrorPage(error: Error, url: string): { status: number; html: string };
  }
  interface FastifyContextConfig {
    /** Called (and awaited) when the route refuses a request for a missing CSRF token or throttling. */
    onRefused?: (request: FastifyRequest, refusal: Refusal) => Promise<void>;
  }
}

interface ErrorPage {
  status: number;
  title: string;
  message: string;
  fields: Array<{ name: string; problem: string }>;
  retryAfterSeconds: number | null;
}

const CSRF_CODES = new Set(['FST_CSRF_INVALID_TOKEN', 'FST_CSRF_MISSING_SECRET']);

/** One validation failure in an operator's words, naming the field. */
function describeProblem(issue: FastifySchemaValidationError): { name: string; problem: string } {
  const params = issue.params;
  const name =
    issue.keyword === 'required'
      ? String(params.missingProperty)
      : issue.keyword === 'additionalProperties'
        ? String(params.additionalProperty)
        : issue.instancePath.replace(/^\//, '') || 'the form';
  switch (issue.keyword) {
    case 'additionalProperties':
      return { name, problem: 'is not a field of this form.' };
    case 'required':
      return { name, problem: 'is required.' };
    case 'minLength':
      return {
        name,
        problem: params.limit === 1 ? 'must not be empty.' : `must be at least ${String(params.limit)} characters.`,
      };
    case 'maxLength':
      return { name, problem: `must be at most ${String(params.limit)} characters.` };
    case 'type':
      return {
        name,
        problem: params.type === 'string' ? 'must be given once, as text.' : `must be a ${String(params.type)}.`,
      };
    case 'enum': {
      // A form's "any" is the empty value: named in words, not as a blank before the first comma.
      const allowed = params.allowedValues as unknown[];
      const named = allowed.filter((value) => value !== '').join(', ');
      return { name, problem: `must be one of: ${named}${allowed.includes('') ? ' (or empty, for any)' : ''}.` };
    }
    case 'format':
      return { name, problem: `must be a valid ${String(params.format)}.` };
    case 'pattern':
      return {
        name,
        problem:
          params.pattern === RUN_ID.pattern
            ? 'must be a run id (a UUID).'
            : 'has characters that are not allowed here.',
      };
    default:
      return { name, problem: 'is not valid.' };
  }
}

function pageFor(error: FastifyError, databaseUrl: string): ErrorPage {
  const page = (status: number, title: string, message: string, more: Partial<ErrorPage> = {}): ErrorPage => ({
    status,
    title,
    message,
    fields: [],
    retryAfterSeconds: null,
    ...more,
  });
  if (error instanceof NotFoundError) return page(404, 'Page not found', error.message);
  if (error instanceof TooManyRequestsError) {
    return page(429, 'Too many attempts', 'There were too many attempts in a short time.', {
      retryAfterSeconds: error.retryAfterSeconds,
    });
  }
  if (error instanceof HttpError)
    return page(error.statusCode, error.statusCode === 403 ? 'Not allowed' : 'Request refused', error.message);
  // A path's parameters name the page: one that cannot be a page's name is a page that is not there.
  if (error.validation && error.validationContext === 'params')
    return page(404, 'Page not found', new NotFoundError().message);
  if (error.validation) {
    return page(400, 'Check what was sent', 'Some of what was sent cannot be used:', {
      fields: error.validation.map(describeProblem),
    });
  }
  if (CSRF_CODES.has(error.code)) {
    return page(
      403,
      'Form expired',
      'This form has expired or did not come from this console. Go back, reload the page and try again.',
    );
  }
  if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return page(
      400,
      'Check what was sent',
      'This address takes a submitted form (application/x-www-form-urlencoded) only.',
    );
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return page(413, 'Too large', 'What was sent is too large for this form.');
  if (
    error instanceof UnavailableError ||
    isTransientError(error) ||
    asConnectionError(error, databaseUrl) instanceof UnavailableError
  ) {
    return page(
      503,
      'Temporarily unavailable',
      'The console cannot reach a service it depends on right now. Try again in a minute.',
      {
        retryAfterSeconds: 30,
      },
    );
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return page(status, 'Request refused', 'The request could not be understood.');
  return page(500, 'Something went wrong', 'Something went wrong on our side; it has been logged.');
}

/**
 * One error handler for the whole console: every failure becomes a page that says what to
 * do, and nothing of the internals (stack, SQL, driver text) reaches the browser; the log
 * gets the detail.
 */
export default fp(
  async (app) => {
    // "Back" goes to the start page of the plane the visitor is on: a customer is never sent to
    // the console, and an operator goes to a page they may open (a 403's way back is no other 403).
    const model = (page: ErrorPage, home: string) => ({
      ...page,
      home,
      retryAt:
        page.retryAfterSeconds === null
          ? null
          : new Date(Date.now() + page.retryAfterSeconds * 1000).toISOString().slice(11, 19),
    });
    const render = (reply: FastifyReply, page: ErrorPage) => {
      if (page.retryAfterSeconds !== null) reply.header('retry-after', page.retryAfterSeconds);
      return reply.page('error', model(page, startPageOf(reply.request)), { title: page.title, status: page.status });
    };

    app.decorate('routerErrorPage', (error: Error, url: string) => {
      const page = pageFor(error as FastifyError, app.deps.config.databaseUrl);
      const chrome = signedOutChrome(url);
      return {
        status: page.status,
        html: app.renderDocument('error', model(page, chrome.home), { title: page.title }, chrome),
      };
    });

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const page = pageFor(error, app.deps.config.databaseUrl);
      if (page.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ code: error.code, status: page.status }, 'request refused');
      const refusal: Refusal | null = page.status === 429 ? 'throttled' : CSRF_CODES.has(error.code) ? 'csrf' : null;
      const onRefused = request.routeOptions.config?.onRefused;
      if (refusal && onRefused) await onRefused(request, refusal);
      return render(reply, page);
    });

    app.setNotFoundHandler(async (_request, reply) => render(reply, pageFor(new NotFoundError() as FastifyError, '')));
  },
  { name: 'errors', dependencies: ['views'] },
);

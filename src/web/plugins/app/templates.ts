import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta, type TemplateFunction } from 'eta';

const EXTENSION = '.eta';

/**
 * The console's Eta views, every file under the views folder compiled once when the app is
 * built (a template that does not compile fails the start, not a request), and rendered by
 * name: `layout`, `system/runs`, `partials/status/running`. Escaping is Eta's default
 * (`<%= %>`); raw output (`<%~ %>`) is only for trusted partials.
 *
 * Inside a view, `partial(name, data)` renders another view with exactly `data`, like a call.
 * Eta's own `include` is not used: it renders with `{ ...it, ...data }` (the caller's whole
 * model under the partial's) and resolves the file path again on every call, and V8 in Node 20
 * builds an object spread followed by more properties on a slow path, 10–40 µs each time. The
 * runs list renders two partials a row, which made those merges most of the list's CPU.
 */
export class Views extends Eta {
  readonly #compiled = new Map<string, TemplateFunction>();

  constructor(dir: string) {
    // `this` in a compiled view is this instance (Eta calls it so).
    super({ autoEscape: true, functionHeader: 'const partial = (name, data) => this.view(name, data);' });
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith(EXTENSION));
    for (const file of files) {
      const path = join(dir, file);
      const name = file.slice(0, -EXTENSION.length).split('\\').join('/');
      this.#compiled.set(name, this.compile(readFileSync(path, 'utf8'), { filepath: path }));
    }
  }

  /** The view `name` (its path under the views folder, without `.eta`) rendered with `data`. */
  view(name: string, data: object): string {
    const compiled = this.#compiled.get(name);
    if (!compiled) throw new Error(`no view "${name}"; the views are ${[...this.#compiled.keys()].sort().join(', ')}`);
    return compiled.call(this, data);
  }
}

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Views } from '../src/web/plugins/app/templates.js';

describe('views', () => {
  const dirs: string[] = [];
  const viewsDir = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'views-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return dir;
  };

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('renders a view by its path, escaping what it interpolates', () => {
    const views = new Views(viewsDir({ 'system/page.eta': '<p><%= it.text %></p>' }));
    expect(views.view('system/page', { text: '<script>"x"</script>' })).toBe(
      '<p>&lt;script&gt;&quot;x&quot;&lt;/script&gt;</p>',
    );
  });

  it("a partial sees exactly the data it is given, never its caller's", () => {
    const views = new Views(
      viewsDir({
        'page.eta': `<%~ partial('partials/item', { label: it.label }) %>`,
        'partials/item.eta': `<%= it.label %>/<%= it.secret ?? 'none' %>`,
      }),
    );
    expect(views.view('page', { label: 'a & b', secret: 'of the page' })).toBe('a &amp; b/none');
  });

  it('an unknown view is an error that names it and the views there are', () => {
    const views = new Views(viewsDir({ 'layout.eta': 'x', 'partials/status/running.eta': 'y' }));
    expect(() => views.view('partials/status/paused', {})).toThrow(
      'no view "partials/status/paused"; the views are layout, partials/status/running',
    );
  });

  it('a view that does not compile fails when the views are loaded, not when a page is asked for', () => {
    const dir = viewsDir({ 'good.eta': 'fine', 'bad.eta': '<% if (it.x) { %>never closed' });
    expect(() => new Views(dir)).toThrow(/Bad template syntax/);
  });
});

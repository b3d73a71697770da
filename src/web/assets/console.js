// The console's own script (the CSP allows no inline script). Everything works without it.
// A field with a `.counter` sibling shows its length as the server counts it (trimmed, in
// characters); delegated from the document so that fields htmx swaps in count too.
document.addEventListener('input', (event) => {
  const field = event.target;
  if (!(field instanceof HTMLTextAreaElement) || !field.parentElement) return;
  const counter = field.parentElement.querySelector('.counter');
  if (!counter) return;
  counter.textContent = `${[...field.value.trim()].length} / ${field.maxLength} characters`;
});

// A tenant field with `data-tenant-search` offers the matching tenants as you type: htmx
// fetches the search's partial (its `<option>`s) into the field's datalist.
let tenantSearch;
document.addEventListener('input', (event) => {
  const field = event.target;
  if (!(field instanceof HTMLInputElement) || !field.dataset.tenantSearch || !field.list || !window.htmx) return;
  clearTimeout(tenantSearch);
  tenantSearch = setTimeout(() => {
    const url = `${field.dataset.tenantSearch}?q=${encodeURIComponent(field.value.trim())}`;
    window.htmx.ajax('GET', url, { target: field.list, swap: 'innerHTML' });
  }, 250);
});

// Every htmx request carries the session's CSRF token as a header too (the forms also carry it
// as a field), so a request htmx makes from an attribute is never refused for lacking one.
document.addEventListener('htmx:configRequest', (event) => {
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token) event.detail.headers['x-csrf-token'] = token.getAttribute('content');
});

// An error page htmx showed in #htmx-error (see the layout's htmx-config) is cleared by the next
// request that succeeds: a poll that fails during an outage says so, and stops saying it after.
document.addEventListener('htmx:afterRequest', (event) => {
  const box = document.getElementById('htmx-error');
  if (box && event.detail.successful && event.detail.target !== box) box.replaceChildren();
});

// ESLint with typescript-eslint's type-aware rules (`npm run lint`; zero warnings is the bar).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Workflow code is replayed: at run time it may import only the workflow SDK and other workflow files. */
const workflowImportRule = {
  patterns: [
    {
      regex: '^(?!(@temporalio/(workflow|common)|\\./[\\w.-]+\\.js)$)',
      allowTypeImports: true,
      message:
        'Workflow code runs in the replayable sandbox: import only @temporalio/workflow, @temporalio/common and other workflow files at run time (types with `import type`).',
    },
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'test-artifacts/', 'bench/results/', 'drizzle/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
    },
  },
  {
    files: ['src/web/assets/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  { files: ['src/web/assets/**/*.js'], languageOptions: { globals: globals.browser } },
  {
    // Fastify's plugins, hooks and handlers say "done" by returning a promise: an async function
    // without an await is its contract, not a mistake.
    files: ['src/web/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['*.js', 'scripts/*.mjs', 'src/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Tests read JSON from the CLI, rows from pg and bodies from inject() as `any` and then assert their shape;
    // typing every such read would restate the assertion beside it.
    // Stubs of async interfaces (a `temporal()` that only throws, an inject() handler) need no await.
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // No import cycles anywhere in the product: each layer stands on the ones below it.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: import.meta.dirname })],
    },
    rules: { 'import-x/no-cycle': 'error' },
  },
  {
    // The engine and the catalog know runs, not how they are executed or asked for: they reach the workflows
    // through the RunLauncher the composition roots hand it.
    files: ['src/runbooks/**/*.ts', 'src/catalog/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(@temporalio/|(\\.\\./)+(temporal|web|cli|workflows|activities)/)',
              message:
                'The engine imports nothing of Temporal, the console, the CLI, the workflows or the activities; use its ports (RunLauncher).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', workflowImportRule],
      'no-restricted-globals': [
        'error',
        { name: 'require', message: 'Workflow code imports; it never requires at run time.' },
        { name: 'setTimeout', message: "Use the workflow SDK's sleep() or condition(): timers must be replayed." },
        { name: 'setInterval', message: "Use the workflow SDK's sleep(): timers must be replayed." },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Workflow code takes its settings from its input, never the environment.',
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'The workflow sandbox fixes Date; take the time from the input or workflowInfo() and say why.',
        },
      ],
    },
  },
  prettier,
);
